"""Worker processes on Ray sharing one model (`--workers N`).

Imported only when `--workers` > 0 (Ray is the optional extra `.[ray]`). Modules: `holder.py`,
`worker.py` (the worker process), `backend.py` (the driver's side), `transport.py`, `shards.py`.

Processes:
- the driver: `runner.Trainer` (the logdir, logs, test games, signals, and
  when to checkpoint) over `backend.RayBackend`, whose loops are one watcher
  thread per worker;
- one `Holder` actor, placed on the driver's node: the shared model (the
  agent's weights and the shared RMSProp statistics), the exact global step
  counter, the target syncs and the checkpoints (it writes them, complete or
  not at all, as `checkpointing.Checkpointer` does);
- `--workers` `Worker` actors, each running `--threads` learner threads
  (`learner.LearnerLoop`, the same loop and agent code as one process) on its own
  environments and its own copy of the weights.

What crosses between them:
- a worker's learner threads claim global steps in blocks of `BLOCK` from the
  holder (one call per block, which also reports the block's emulator frames);
  the holder never grants past `--total_frames`, so the count is exact: at the
  end of a run the steps played add up to exactly `--total_frames`, and a stop
  gives back what was claimed and not played. A worker killed mid-block leaves
  the rest of that block (< BLOCK steps) counted but unplayed;
- each of the worker's batched TF calls computes the gradient of every
  segment finished in it (one per learner thread at most, as the paper's
  per-thread updates), sends them in one call, each one flat float32 array
  (`transport.py`), the holder applies them one
  after another with the shared optimizer at the learning rate of the global
  step, and answers with the new online weights (and the target network's
  when it has synced since the worker last had them). So a worker's weights
  are at most one of its own updates stale, plus what other workers applied
  meanwhile, as an A3C thread's local copy refreshed every segment. With
  `--gradients_per_message` k > 1 a worker keeps its finished segments'
  gradients until it has k, sends them as one [k, size] array (one round trip
  instead of k; each still its own update in the holder) and acts up to k of
  its own updates behind; a stopping worker sends what it still holds;
- the target network syncs in the holder when a granted block crosses a
  multiple of `--update_interval` (exactly once per interval);
- the driver drains each worker's interval statistics before each log row.

With `--holder_shards` K > 1 the model lives in K `shards.Shard` actors instead, each
owning a slice of the flat weights, target network and optimizer statistics; a worker
clips each gradient by its global norm, sends each shard its slice and puts the weights
together from the K answers (`_ShardedStep`); the holder keeps the counter, tells the
shards to sync their targets and gathers their slices into its agent before each
checkpoint and test.
"""
