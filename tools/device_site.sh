#!/bin/bash
# Packs TensorFlow, Keras, gymnasium, ale-py and Ray for the lent 16-core machine (Python 3.12,
# no TensorFlow, no package registry; see ../shared/device-tensorflow.md) into three parts of
# 60 MB under .whl/ (ignored by git), each small enough for one `run` call, and writes
# .whl/run/unpack.sh, which the last call runs before the measurement.
#
#   bash tools/device_site.sh            # here, once (~10 min: xz on 2 cores)
# Then, with assets/ and pretrained/ moved out of the working tree for these calls (the tracked
# files travel with every call and count towards its 64 MiB), one device call per part, back to
# back (the machine forgets /tmp 30 s after a call):
#   run carry=[".whl/p1"]  command: mkdir -p /tmp/w && cat .whl/p1/* > /tmp/w/s.tar.xz
#   run carry=[".whl/p2"]  command: cat .whl/p2/* >> /tmp/w/s.tar.xz
#   run carry=[".whl/p3", ".whl/run"]  command: source .whl/run/unpack.sh && python3 -m async_deeprl.bench --workers 8 --threads 2 --holder_shards 1,2,4 --tf_threads 0,1 --seconds 10 --warmup 3 --out $OUT/bench16_shards
# Used on 2026-12-04: the site is 966 MB unpacked, 180 MB as .tar.xz (headers, Ray's Java jars
# and RLlib left out, shared libraries stripped of their symbol tables); 3 calls of ~0.2 s each
# and ~15 s to unpack on the device.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx "/.whl/" .git/info/exclude 2>/dev/null || echo /.whl/ >> .git/info/exclude
rm -rf .whl /tmp/site312 && mkdir -p .whl/wheels .whl/run
platforms="--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64"
pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp $platforms -d .whl/wheels \
  tensorflow-cpu==2.21.0 keras==3.15.1 gymnasium==1.4.0 ale-py==0.12.1 numpy==2.4.6 astunparse==1.6.3 \
  gast==0.7.0 google-pasta==0.2.0 termcolor==3.3.0 namex==0.1.0 optree==0.20.0 farama-notifications==0.0.6 \
  ml-dtypes==0.7.0 protobuf==7.36.2 flatbuffers==25.12.19 cloudpickle==3.1.3 wrapt==2.5.2 h5py==3.14.0 \
  opt_einsum==3.4.0 six==1.17.0 absl-py==2.5.1 typing_extensions==4.16.0 rich==15.0.0 markdown-it-py==4.3.0 \
  mdurl==0.1.2 pygments==2.21.0 \
  ray==2.60.0 click==8.5.1 filelock==4.3.2 jsonschema==4.26.0 jsonschema-specifications==2025.9.1 \
  attrs==26.1.0 referencing==0.37.0 rpds-py==2026.9.1 msgpack==1.2.4 packaging==26.4 pyyaml==6.0.4 \
  requests==2.34.2 urllib3==2.8.0 idna==3.20 certifi==2026.10.19.post1 charset-normalizer==3.5.3
pip install -q --no-deps --no-compile --no-index --target /tmp/site312 --python-version 3.12 \
  --implementation cp $platforms --only-binary=:all: .whl/wheels/*.whl
cd /tmp/site312
rm -rf tensorflow/include ray/jars ray/rllib
find . -name __pycache__ -prune -exec rm -rf {} +
find tensorflow ray -type f \( -name "*.so*" -o -path "*/core/src/*" \) -exec sh -c \
  'file -b "$1" | grep -q "ELF.*not stripped" && strip --strip-unneeded "$1" || true' _ {} \;
tar -cf - . | xz -T0 -6 > /tmp/site312.tar.xz
cd - > /dev/null
for i in 1 2 3; do mkdir -p .whl/p$i; done
split -b 60000000 -d /tmp/site312.tar.xz .whl/s.
mv .whl/s.00 .whl/p1/ && mv .whl/s.01 .whl/p2/ && mv .whl/s.02 .whl/p3/
[ -z "$(ls .whl/s.* 2>/dev/null)" ] || { echo "the site needs more than 3 parts: add calls" >&2; exit 1; }
sum=$(md5sum < /tmp/site312.tar.xz | cut -d' ' -f1)
cat > .whl/run/unpack.sh <<UNPACK
cat .whl/p3/* >> /tmp/w/s.tar.xz
[ "\$(md5sum < /tmp/w/s.tar.xz | cut -d' ' -f1)" = "$sum" ] || { echo "parts missing: start over" >&2; return 3; }
mkdir -p /tmp/site && xz -T16 -dc /tmp/w/s.tar.xz | tar -xf - -C /tmp/site
export PYTHONPATH=\$PWD:/tmp/site TF_CPP_MIN_LOG_LEVEL=3
UNPACK
ls -l .whl/p*/ && echo "md5 $sum"
