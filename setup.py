"""Package definition of async_deeprl."""

from setuptools import find_packages, setup

# The CPU build of TensorFlow where one exists (Linux x86_64): the same code, a third of the download.
TENSORFLOW = [
    "tensorflow-cpu>=2.16; platform_system == 'Linux' and platform_machine == 'x86_64'",
    "tensorflow>=2.16; platform_system != 'Linux' or platform_machine != 'x86_64'",
]

setup(
    name="async_deeprl",
    version="0.1.0",
    description="Asynchronous deep Q-learning from Atari pixels (Mnih et al., 2016) on TensorFlow 2 / Keras 3",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["async_deeprl", "async_deeprl.*"]),
    py_modules=["run_dqn"],
    python_requires=">=3.10",
    install_requires=TENSORFLOW + [
        "keras>=3.0",
        "gymnasium>=1.0",
        "ale-py>=0.12",
        "numpy",
        "opencv-python-headless",
        "absl-py",
        "tensorboard",
        "imageio",
        "imageio-ffmpeg",
        "rich",
        "matplotlib",
    ],
    # Ray for --workers (worker processes sharing one model); the tests run it too, and the
    # quickstart notebook (nbclient executes it on an ipykernel).
    extras_require={"ray": ["ray>=2.59"],
                    "test": ["pytest>=7", "pytest-xdist>=3", "ray>=2.59", "nbclient", "nbformat", "ipykernel"]},
)
