// Package train trains the NANN model (SPEC §3), writes checkpoints that
// a restarted job resumes from, evaluates the result by brute force
// against a popularity baseline, and extracts the item embeddings
// (SPEC §4).
//
// A run directory holds:
//
//	config.json              model and training configuration, dataset path
//	ckpt/step-000005000.ckpt checkpoints: params, Adam moments and step, BN
//	                         moving averages, sampler RNG, data position
//	                         (the newest KeepCheckpoints are kept)
//	metrics.jsonl            one JSON row per LogEvery steps (loss, loss_xe,
//	                         loss_adv, accuracy with and without log-Q, samples/s)
//	curves.png               training curves, drawn at the end
//	model.ckpt               the final model (params and BN state only)
//	report.json              the final evaluation (Report)
//
// Determinism: a step's batch depends only on the seed, the epoch and the
// step (a per-epoch PCG shuffle), its negatives on the sampler RNG whose
// state is checkpointed, and the R data-parallel shards are fixed slices of
// the batch whose gradients are summed, and whose BatchNorm statistics are
// folded into the moving averages, in shard order. A run resumed from a
// checkpoint therefore reproduces the uninterrupted run bit for bit,
// provided the model's Worker.Step is itself deterministic.
//
// Faithful details: the B×Negatives negatives of a step are distinct
// across the whole batch and may include a row's own positive (TF's
// sampler does not remove accidental hits, nor does this); the log-Q of a
// candidate is log(1 − (1 − p)^tries) with tries the number of draws the
// unique sample took; gradients are those of each shard's mean loss,
// summed over shards as the reference sums its replicas'; each shard's
// BatchNorm statistics update the moving averages once per step, in shard
// order (as when every tower's update ops run); AdamW updates are dense
// over every parameter, including all embedding rows, as TF's Adam does.
//
// Checkpoint files are written atomically (temp, fsync, rename) and end
// with a SHA-256 of their contents; on resume a corrupt or truncated one is
// reported and the previous one used. Killing the process loses at most
// the steps since the last checkpoint; a cancelled context (Ctrl-C,
// SIGTERM) writes one before returning.
package train
