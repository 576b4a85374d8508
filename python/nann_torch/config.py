"""Training configuration: the fields, defaults and profiles of `nann train`
(train/config.go), so that a PyTorch run and a nann run of the same profile
train the same thing."""

import copy

# Config.json "train" fields in nann's order, with nann's defaults
# (train.Default, SPEC §3).
DEFAULTS = {
    "data": "",
    "profile": "reference",
    "seed": 1,
    "epochs": 5,
    "batch": 800,
    "negatives": 200,
    "max_samples": 0,
    "max_steps": 0,
    # Data-parallel shards of a batch (BatchNorm statistics per shard,
    # gradients summed over shards). nann: 0 = number of CPUs; here 0 = the
    # number of processes (one shard per process, the reference's one replica
    # per GPU). Must be a multiple of the number of processes.
    "replicas": 0,
    "lr": 3e-3,
    "beta1": 0.9,
    "beta2": 0.999,
    "adam_eps": 1e-8,
    "weight_decay": 1e-4,
    "adv_eps": 3e-5,
    "adv_weight": 1.0,
    "checkpoint_every": 5000,
    "keep_checkpoints": 3,
    "log_every": 100,
    "eval_users": 0,
    # Validation during training and early stopping (nann train's
    # --eval-every, --valid-users, --valid-k, --patience): carried so that
    # config.json holds nann's fields, but not run by this trainer, which
    # refuses eval_every > 0 (validate it afterwards with nann eval).
    "eval_every": 0,
    "valid_users": 1000,
    "valid_k": 0,
    "patience": 0,
}


def _demo(c):
    c.update(epochs=1, batch=256, negatives=20, max_samples=300_000,
             checkpoint_every=500, log_every=50, eval_users=1000)


PROFILES = {"reference": lambda c: None, "demo": _demo}

# Fields a resumed run may change (train.Mutable).
MUTABLE = {"epochs", "max_steps", "checkpoint_every", "keep_checkpoints", "log_every", "eval_users",
           "eval_every", "patience"}


def profile(name):
    if name not in PROFILES:
        raise ValueError(f"unknown training profile {name!r} (have {', '.join(sorted(PROFILES))})")
    c = copy.deepcopy(DEFAULTS)
    c["profile"] = name
    PROFILES[name](c)
    return c


def validate(c):
    """Every problem of c at once (train.Config.Validate)."""
    errs = []

    def bad(cond, msg):
        if cond:
            errs.append(msg)

    bad(not c["data"], "data: no dataset directory")
    bad(c["epochs"] < 1, f"epochs: {c['epochs']}, want >= 1")
    bad(c["batch"] < 1, f"batch: {c['batch']}, want >= 1")
    bad(c["negatives"] < 1, f"negatives: {c['negatives']}, want >= 1")
    bad(c["batch"] * c["negatives"] > 1 << 28, f"batch×negatives: {c['batch']}×{c['negatives']} is too large")
    bad(c["max_samples"] < 0, f"max_samples: {c['max_samples']}, want >= 0")
    bad(c["max_steps"] < 0, f"max_steps: {c['max_steps']}, want >= 0")
    bad(not 0 <= c["replicas"] <= 1024, f"replicas: {c['replicas']}, want 0..1024")
    bad(c["replicas"] > c["batch"], f"replicas: {c['replicas']} exceeds the batch {c['batch']}")
    bad(not 0 < c["lr"] < 10, f"lr: {c['lr']}, want in (0, 10)")
    bad(not 0 <= c["beta1"] < 1, f"beta1: {c['beta1']}, want in [0, 1)")
    bad(not 0 <= c["beta2"] < 1, f"beta2: {c['beta2']}, want in [0, 1)")
    bad(not c["adam_eps"] > 0, f"adam_eps: {c['adam_eps']}, want > 0")
    bad(not 0 <= c["weight_decay"] < 1, f"weight_decay: {c['weight_decay']}, want in [0, 1)")
    bad(not 0 <= c["adv_eps"] < 1, f"adv_eps: {c['adv_eps']}, want in [0, 1)")
    bad(not 0 <= c["adv_weight"] < 1e6, f"adv_weight: {c['adv_weight']}, want >= 0")
    bad(c["checkpoint_every"] < 1, f"checkpoint_every: {c['checkpoint_every']}, want >= 1")
    bad(c["keep_checkpoints"] < 1, f"keep_checkpoints: {c['keep_checkpoints']}, want >= 1")
    bad(c["log_every"] < 1, f"log_every: {c['log_every']}, want >= 1")
    bad(c["eval_users"] < 0, f"eval_users: {c['eval_users']}, want >= 0")
    bad(c.get("eval_every", 0) != 0, f"eval_every: {c.get('eval_every')}: validation during training and early "
        "stopping are nann train's; nann_torch runs without them (0)")
    bad(c.get("patience", 0) != 0, f"patience: {c.get('patience')}: early stopping is nann train's (0 here)")
    bad(c.get("valid_users", 0) < 0, f"valid_users: {c.get('valid_users')}, want >= 0")
    bad(not 0 <= c.get("valid_k", 0) <= 1 << 20, f"valid_k: {c.get('valid_k')}, want 0..{1 << 20}")
    if errs:
        raise ValueError("training config: " + "; ".join(errs))


def merge_resume(stored, given, set_fields):
    """Apply the explicitly set fields of given onto stored (a run's
    config.json); a changed immutable field is an error naming its flag."""
    out = dict(stored)
    errs = []
    for k in set_fields:
        if given[k] == stored.get(k):
            continue
        if k not in MUTABLE:
            errs.append(f"--{k.replace('_', '-')}={given[k]} conflicts with the run's {k}={stored.get(k)} in config.json "
                        "(start a new --run directory to change it)")
            continue
        out[k] = given[k]
    if errs:
        raise ValueError("; ".join(errs))
    return out
