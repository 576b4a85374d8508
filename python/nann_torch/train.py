"""Training of the NANN reference model with PyTorch, data-parallel through
torch.distributed (DistributedDataParallel; gloo on CPU, nccl on GPU),
launched with torchrun:

    torchrun --nnodes 1 --nproc-per-node 2 --master-addr 127.0.0.1 --master-port 29500 \
        -m nann_torch.train --run RUN --data DATASET --profile demo

(one process also works without torchrun: python3 -m nann_torch.train ...).

What one step does (SPEC §3, as nann's trainer does it, train/run.go):
a batch of `batch` positives (a slice of the epoch's shuffle), `batch ×
negatives` distinct negatives drawn from the unigram sampler for the whole
batch, log-Q correction by the sampler's expected counts; the batch is cut
into `replicas` shards exactly as nann cuts it (shard r holds positives
r·B/R .. (r+1)·B/R), each shard's mean loss (sigmoid cross-entropy + FGSM
KL) is back-propagated with its own BatchNorm statistics, gradients are
summed over the shards (DDP's all-reduce), AdamW (TF contrib's decoupled
form) updates, and each shard's clean-pass BatchNorm statistics are folded
into the moving averages in shard order.

Every random choice is a function of (seed, step) or (seed, epoch), so a
run killed and resumed from a checkpoint ends bit-identical to one that was
never interrupted.

The run directory is nann's layout: config.json (format "nann-run", so that
`nann extract/eval/export` read the result), ckpt/step-N.ckpt (nann's
checkpoint format, with Adam moments), metrics.jsonl, model.ckpt,
report.json; and at the end item_ids.npy, item_embs.npy and model.onnx.
"""

import argparse
import datetime
import json
import logging
import math
import os
import signal
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from . import checkpoint as ck
from . import config as tconfig
from .dataset import Dataset, DatasetError
from .model import NANN, Config

log = logging.getLogger("nann_torch")

RECALL_KS = (50, 200)
MASK64 = (1 << 64) - 1


# --- sampler ----------------------------------------------------------------

class Sampler:
    """Unigram sampler over dense ids with probability ∝ weight (weight[0]
    ignored), drawing until it holds n distinct ids, as TensorFlow's
    fixed_unigram_candidate_sampler with unique=True (and nann's
    train.Sampler) do; the number of draws gives the expected counts."""

    def __init__(self, weight):
        w = np.asarray(weight, dtype=np.float64)
        if w.ndim != 1 or w.shape[0] < 2:
            raise ValueError("sampler: no items")
        if not np.isfinite(w).all() or (w < 0).any():
            i = int(np.flatnonzero(~np.isfinite(w) | (w < 0))[0])
            raise ValueError(f"sampler: weight of item {i} is {w[i]}")
        w = w.copy()
        w[0] = 0
        total = w.sum()
        if total <= 0:
            raise ValueError("sampler: all item weights are 0")
        self.prob = w / total
        self.ids = np.flatnonzero(w > 0).astype(np.int64)
        self.cdf = np.cumsum(self.prob[self.ids])
        self.log1mp = np.log1p(-np.minimum(self.prob, 1 - 1e-16))

    @property
    def support(self):
        return self.ids.shape[0]

    def sample_unique(self, rng, n):
        """n distinct ids in draw order, and the number of draws it took."""
        if n > self.support:
            raise ValueError(f"too many unique negatives for this corpus: {n} distinct items asked, only {self.support} items have a non-zero weight")
        limit = 50 * n + 1000
        draws = np.zeros(0, dtype=np.int64)
        m = n + n // 4 + 64
        while True:
            u = rng.random(m)
            k = np.minimum(np.searchsorted(self.cdf, u * self.cdf[-1], side="right"), self.support - 1)
            draws = np.concatenate([draws, self.ids[k]])
            _, first = np.unique(draws, return_index=True)
            if first.shape[0] >= n:
                first.sort()
                return draws[first[:n]], int(first[n - 1]) + 1
            if draws.shape[0] >= limit:
                raise ValueError(f"too many unique negatives for this corpus: {draws.shape[0]} draws gave only {first.shape[0]} of {n} distinct items")
            m = max(m, n - first.shape[0]) * 2

    def log_q(self, ids, tries):
        """log(expected count) = log(1 − (1 − p)^tries), floored at 1e-30."""
        c = -np.expm1(tries * self.log1mp[ids])
        return np.log(np.maximum(c, 1e-30)).astype(np.float32)


# --- optimiser --------------------------------------------------------------

class AdamW:
    """TensorFlow 1.x AdamOptimizer with contrib's decoupled weight decay,
    as nann's train.AdamW: var −= wd·var (every parameter, not scaled by lr);
    lr_t = lr·sqrt(1−β2^t)/(1−β1^t); m, v updated; var −= lr_t·m/(sqrt(v)+ε)."""

    def __init__(self, named_params, lr, beta1, beta2, eps, weight_decay):
        self.params = list(named_params)  # (go name, param)
        self.lr, self.b1, self.b2, self.eps, self.wd = lr, beta1, beta2, eps, weight_decay
        self.step = 0
        self.m = {n: torch.zeros_like(p, memory_format=torch.contiguous_format) for n, p in self.params}
        self.v = {n: torch.zeros_like(p, memory_format=torch.contiguous_format) for n, p in self.params}

    @torch.no_grad()
    def apply(self):
        self.step += 1
        t = float(self.step)
        lr_t = self.lr * math.sqrt(1 - self.b2 ** t) / (1 - self.b1 ** t)
        for n, p in self.params:
            g = p.grad if p.grad is not None else torch.zeros_like(p)
            if self.wd:
                p.sub_(self.wd * p)
            m, v = self.m[n], self.v[n]
            m.mul_(self.b1).add_((1 - self.b1) * g)
            v.mul_(self.b2).add_((1 - self.b2) * g * g)
            p.sub_(lr_t * m / (v.sqrt() + self.eps))


# --- the loss of one shard ----------------------------------------------------

def shard_loss(model, hist_items, hist_cates, cand_items, cand_cates, logq, adv_eps, adv_weight):
    """Training-mode loss of one shard (SPEC §3, model.Worker.Step):
    logits = score − logQ; loss_xe = mean sigmoid cross-entropy over the B×C
    logits (label 1 for column 0); with the adversarial term, g = ∂loss_xe/∂e_v,
    e_adv = e_v + eps·sign(g) (constant shift), loss_adv = mean over positives
    of KL(softmax(stop_grad(logits)) ‖ softmax(logits_adv)); the adversarial
    pass uses its own BatchNorm statistics. Returns (loss, stats) with stats
    a float64 tensor [loss, loss_xe, loss_adv, correct, correct_nologq, B];
    the clean pass's BatchNorm statistics are left in each layer's last_stats."""
    B, C = cand_items.shape
    seq = model.lookup(hist_items, hist_cates)
    k = model.attention.keys(seq)
    valid = hist_items.ne(0) if model.cfg.mask_padding else None
    ev = model.item_embeddings(cand_items.reshape(-1), cand_cates.reshape(-1), train=True, record=True).reshape(B, C, -1)
    out = model.score_from(ev, k, seq, valid, train=True, record=True)
    logits = out - logq
    labels = torch.zeros_like(logits)
    labels[:, 0] = 1
    loss_xe = F.binary_cross_entropy_with_logits(logits, labels)
    loss = loss_xe
    loss_adv = torch.zeros((), dtype=logits.dtype, device=logits.device)
    if adv_eps != 0 and adv_weight != 0:
        (g,) = torch.autograd.grad(loss_xe, ev, retain_graph=True)
        ev_adv = ev + adv_eps * torch.sign(g.detach())
        logits_adv = model.score_from(ev_adv, k, seq, valid, train=True, record=False) - logq
        lp = torch.log_softmax(logits.detach(), -1)
        lq = torch.log_softmax(logits_adv, -1)
        loss_adv = (lp.exp() * (lp - lq)).sum(-1).mean()
        loss = loss_xe + adv_weight * loss_adv
    with torch.no_grad():
        correct = (logits[:, :1] >= logits[:, 1:]).all(1).sum()
        correct_no = (out[:, :1] >= out[:, 1:]).all(1).sum()
        stats = torch.stack([loss.detach().double(), loss_xe.detach().double(), loss_adv.detach().double(),
                             correct.double(), correct_no.double(), torch.tensor(float(B), dtype=torch.float64, device=logits.device)])
    return loss, stats


class ShardLoss(torch.nn.Module):
    """The module DDP wraps: forward(shard) = scale × shard_loss. DDP averages
    gradients over the W processes; scale = W makes that the sum over shards,
    as nann's replicas sum theirs."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, hist_items, hist_cates, cand_items, cand_cates, logq, adv_eps, adv_weight, scale):
        loss, stats = shard_loss(self.model, hist_items, hist_cates, cand_items, cand_cates, logq, adv_eps, adv_weight)
        return loss * scale, stats


# --- evaluation -------------------------------------------------------------

@torch.no_grad()
def evaluate(model, ds, max_users, device="cpu"):
    """Brute-force Recall@50/@200 over the first max_users test users (all
    if 0), ranked as nann's train.Evaluate ranks (ties by lower id), and the
    popularity baseline."""
    model.eval()
    test = ds.test if not max_users else ds.test[:max_users]
    if test.shape[0] == 0:
        raise ValueError(f"dataset {ds.dir} has no test samples")
    table = model.all_item_embeddings(ds.item_cate).to(device)
    q = model.attention.queries(table)
    hi, hc, _ = ds.histories(test)
    tgt, _ = ds.targets(test)
    N = table.shape[0]
    ranks = np.zeros(test.shape[0], dtype=np.int64)
    idx = torch.arange(N, device=device)
    for u in range(test.shape[0]):
        seq = model.lookup(torch.from_numpy(hi[u:u + 1]).to(device), torch.from_numpy(hc[u:u + 1]).to(device))
        k = model.attention.keys(seq)
        valid = torch.from_numpy(hi[u:u + 1] != 0).to(device) if model.cfg.mask_padding else None
        att = model.attention(q[None], k, seq, valid)[0]
        s = model.score_net(torch.cat([att, table], -1)).reshape(-1)
        t = int(tgt[u]) - 1
        st = s[t]
        if torch.isnan(st):
            ranks[u] = N
        else:
            ranks[u] = int(((s > st) | ((s == st) & (idx < t))).sum())
    # popularity: count among training targets, ties by lower id
    titems, _ = ds.targets(ds.train)
    count = np.bincount(titems, minlength=ds.num_item + 1)
    order = np.argsort(-count[1:], kind="stable") + 1
    prank = np.empty(ds.num_item + 1, dtype=np.int64)
    prank[0] = ds.num_item
    prank[order] = np.arange(ds.num_item)
    rep = {"users": int(test.shape[0]), "items": int(N), "recall": {}, "popularity": {}, "recall_stderr": {}}
    for K in RECALL_KS:
        r = float((ranks < K).mean())
        rep["recall"][str(K)] = r
        rep["recall_stderr"][str(K)] = math.sqrt(r * (1 - r) / test.shape[0])
        rep["popularity"][str(K)] = float((prank[tgt] < K).mean())
    return rep


# --- the trainer ------------------------------------------------------------

def shuffle_seed(seed):
    return (seed * 0x9e3779b97f4a7c15 + 0x2545f4914f6cdd1d) & MASK64


class Trainer:
    def __init__(self, run_dir, cfg, mcfg, ds, rank, world, device, local_shards):
        self.run_dir, self.cfg, self.mcfg, self.ds = run_dir, cfg, mcfg, ds
        self.rank, self.world, self.device = rank, world, device
        self.shards = cfg["replicas"]
        self.local = local_shards  # global shard indices of this process
        n = ds.train.shape[0]
        if cfg["max_samples"] > 0:
            n = min(n, cfg["max_samples"])
        self.steps_per_epoch = n // cfg["batch"]
        self.total_steps = self.steps_per_epoch * cfg["epochs"]
        if cfg["max_steps"] > 0:
            self.total_steps = min(self.total_steps, cfg["max_steps"])
        self.sampler = Sampler(ds.item_weight)
        self.model = NANN(mcfg, seed=cfg["seed"]).to(device)
        self.opt = AdamW(ck.param_list(self.model), cfg["lr"], cfg["beta1"], cfg["beta2"], cfg["adam_eps"], cfg["weight_decay"])
        self.pos = {"step": 0, "epoch": 0, "step_in_epoch": 0, "shuffle_seed": shuffle_seed(cfg["seed"]), "samples": 0}
        self.perm, self.perm_epoch = None, -1
        self.item_cate = np.array(ds.item_cate, dtype=np.int64)
        if world > 1:
            dev_ids = [device.index] if device.type == "cuda" else None
            self.ddp = torch.nn.parallel.DistributedDataParallel(ShardLoss(self.model), device_ids=dev_ids, broadcast_buffers=False)
        else:
            self.ddp = ShardLoss(self.model)

    # data
    def epoch_perm(self, e):
        if self.perm_epoch != e:
            rng = np.random.Generator(np.random.PCG64([self.pos["shuffle_seed"], e]))
            self.perm, self.perm_epoch = rng.permutation(self.ds.train.shape[0]), e
        return self.perm

    def batch(self, s):
        """The global batch of step s, as numpy arrays."""
        B, N = self.cfg["batch"], self.cfg["negatives"]
        e, k = s // self.steps_per_epoch, s % self.steps_per_epoch
        idx = self.epoch_perm(e)[k * B:(k + 1) * B]
        smp = self.ds.train[idx]
        rng = np.random.Generator(np.random.PCG64([self.cfg["seed"], 0x5a3b1e, s]))
        negs, tries = self.sampler.sample_unique(rng, B * N)
        hi, hc, _ = self.ds.histories(smp, self.mcfg.max_len)
        ti, tc = self.ds.targets(smp)
        ci = np.concatenate([ti[:, None], negs.reshape(B, N)], 1)
        cc = self.item_cate[ci]
        lq = self.sampler.log_q(ci, tries)
        return hi, hc, ci, cc, lq

    # one step
    def step(self):
        cfg = self.cfg
        B, R = cfg["batch"], self.shards
        hi, hc, ci, cc, lq = self.batch(self.pos["step"])
        for p in self.model.parameters():
            p.grad = None
        bns = self.model.batchnorms()
        stats_local, bn_local = [], []
        self.model.train()
        for j, r in enumerate(self.local):
            lo, up = r * B // R, (r + 1) * B // R
            t = [torch.from_numpy(np.ascontiguousarray(a[lo:up])).to(self.device) for a in (hi, hc, ci, cc, lq)]
            last = j == len(self.local) - 1
            ctx = self.ddp.no_sync() if (self.world > 1 and not last) else _null()
            with ctx:
                loss, st = self.ddp(*t, cfg["adv_eps"], cfg["adv_weight"], float(self.world))
                loss.backward()
            stats_local.append(st)
            bn_local.append(torch.cat([torch.cat(b.last_stats) for b in bns]))
        st = torch.stack(stats_local)  # [local, 6]
        bn = torch.stack(bn_local)     # [local, sum 2C]
        if self.world > 1:
            st_all = [torch.zeros_like(st) for _ in range(self.world)]
            bn_all = [torch.zeros_like(bn) for _ in range(self.world)]
            dist.all_gather(st_all, st)
            dist.all_gather(bn_all, bn)
            st, bn = torch.cat(st_all), torch.cat(bn_all)  # global shard order (ranks own consecutive shards)
        self.opt.apply()
        with torch.no_grad():
            for row in bn:
                off = 0
                for b in bns:
                    c = b.gamma.shape[0]
                    b.apply_moving(row[off:off + c], row[off + c:off + 2 * c])
                    off += 2 * c
        self.pos["step"] += 1
        self.pos["epoch"], self.pos["step_in_epoch"] = divmod(self.pos["step"], self.steps_per_epoch)
        self.pos["samples"] += B
        st = st.cpu().numpy()
        n = st[:, 5]
        return {"loss": float((st[:, 0] * n).sum()), "loss_xe": float((st[:, 1] * n).sum()),
                "loss_adv": float((st[:, 2] * n).sum()), "correct": float(st[:, 3].sum()),
                "correct_no": float(st[:, 4].sum()), "n": float(n.sum())}

    def stopping(self, sig):
        """Whether any rank was asked to stop (all ranks agree, so they stop at the same step)."""
        if self.world == 1:
            return sig != 0
        f = torch.tensor([1.0 if sig else 0.0], device=self.device)
        dist.all_reduce(f, op=dist.ReduceOp.MAX)
        return bool(f.item())

    # checkpoints
    def ckpt_dir(self):
        return os.path.join(self.run_dir, "ckpt")

    def list_checkpoints(self):
        d = self.ckpt_dir()
        if not os.path.isdir(d):
            return []
        out = []
        for f in os.listdir(d):
            if f.startswith("step-") and f.endswith(".ckpt"):
                try:
                    out.append((int(f[5:-5]), os.path.join(d, f)))
                except ValueError:
                    pass
        return [p for _, p in sorted(out, reverse=True)]

    def write_checkpoint(self):
        if self.rank != 0:
            return
        path = os.path.join(self.ckpt_dir(), f"step-{self.pos['step']:09d}.ckpt")
        meta = dict(self.pos, replicas=self.shards, trainer="nann_torch", world_size=self.world)
        ck.write(path, meta, ck.model_tensors(self.model, self.opt))
        for old in self.list_checkpoints()[self.cfg["keep_checkpoints"]:]:
            try:
                os.remove(old)
            except OSError as e:
                log.warning("cannot remove old checkpoint %s: %s", old, e)

    def restore(self):
        """Rank 0 picks the newest checkpoint that reads and fits; all ranks load it."""
        choice = [None]
        if self.rank == 0:
            for p in self.list_checkpoints():
                try:
                    c = ck.read(p)
                    if c.meta.get("replicas") != self.shards:
                        raise ck.CheckpointError(f"written with {c.meta.get('replicas')} replicas, the run has {self.shards}")
                    if c.meta.get("step", 0) > self.steps_per_epoch * self.cfg["epochs"]:
                        raise ck.CheckpointError(f"step {c.meta.get('step')} is past the run's steps")
                    ck.check_fits(self.model, c, with_optimizer=True)
                    choice = [p]
                    break
                except (ck.CheckpointError, OSError, ValueError) as e:
                    log.warning("checkpoint %s unusable, trying the previous one: %s", p, e)
        if self.world > 1:
            dist.broadcast_object_list(choice, src=0)
        if choice[0] is None:
            return None
        c = ck.read(choice[0])
        ck.load_model(self.model, c, self.opt)
        self.opt.step = int(c.meta["step"])
        for k in self.pos:
            self.pos[k] = int(c.meta[k])
        return choice[0]

    def train(self):
        cfg = self.cfg
        metrics_path = os.path.join(self.run_dir, "metrics.jsonl")
        mf = open_metrics(metrics_path, self.pos["step"]) if self.rank == 0 else None
        kill_after = int(os.environ.get("NANN_TORCH_TEST_KILL_AFTER_STEP", "0"))
        stop = {"sig": 0}

        def on_signal(signum, frame):
            stop["sig"] = signum
        old = {sg: signal.signal(sg, on_signal) for sg in (signal.SIGINT, signal.SIGTERM)}
        acc = None
        t_last, s_last = time.time(), self.pos["step"]
        start_step, t_start = self.pos["step"], time.time()
        try:
            while self.pos["step"] < self.total_steps:
                if self.stopping(stop["sig"]):
                    self.write_checkpoint()
                    raise Interrupted(f"interrupted at step {self.pos['step']}, checkpoint written (resume by running the same command)")
                s = self.step()
                acc = s if acc is None else {k: acc[k] + s[k] for k in acc}
                step = self.pos["step"]
                if step % cfg["log_every"] == 0 or step == self.total_steps:
                    now = time.time()
                    n = max(acc["n"], 1)
                    row = {"step": step, "epoch": step / self.steps_per_epoch, "loss": acc["loss"] / n,
                           "loss_xe": acc["loss_xe"] / n, "loss_adv": acc["loss_adv"] / n,
                           "acc": acc["correct"] / n, "acc_nologq": acc["correct_no"] / n,
                           "samples_per_s": acc["n"] / max(now - t_last, 1e-9),
                           "step_seconds": (now - t_last) / max(step - s_last, 1),
                           "time": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
                    if mf:
                        mf.write(json.dumps(row) + "\n")
                        mf.flush()
                        log.info("train step %d/%d epoch %.3f loss %.4g loss_xe %.4g loss_adv %.4g acc %.4g acc_nologq %.4g samples_per_s %d step_ms %d",
                                 step, self.total_steps, row["epoch"], row["loss"], row["loss_xe"], row["loss_adv"],
                                 row["acc"], row["acc_nologq"], row["samples_per_s"], 1000 * row["step_seconds"])
                    acc, t_last, s_last = None, now, step
                if step % cfg["checkpoint_every"] == 0 and step < self.total_steps:
                    self.write_checkpoint()
                if kill_after and step == kill_after and self.rank == self.world - 1:
                    os.kill(os.getpid(), signal.SIGKILL)  # test hook: die like a killed job
            self.write_checkpoint()
        finally:
            for sg, h in old.items():
                signal.signal(sg, h)
            if mf:
                mf.close()
        secs = time.time() - t_start
        return {"steps": self.pos["step"], "total_steps": self.total_steps, "steps_per_epoch": self.steps_per_epoch,
                "samples": self.pos["samples"], "session_steps": self.pos["step"] - start_step, "session_seconds": secs,
                "samples_per_s": (self.pos["step"] - start_step) * cfg["batch"] / secs if secs > 0 else 0.0,
                "world_size": self.world, "replicas": self.shards, "config": cfg}


class Interrupted(Exception):
    pass


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def open_metrics(path, step):
    """Keep the rows up to step (a resumed run logs later steps again);
    a torn last line is dropped."""
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                if r.get("step", 0) <= step:
                    rows.append(line if line.endswith("\n") else line + "\n")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.writelines(rows)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return open(path, "a")


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_npy(path, a):
    tmp = path + ".tmp.npy"
    np.save(tmp, a)
    os.replace(tmp, path)


def finish(trainer, onnx=True):
    """Rank 0: model.ckpt, item_ids.npy, item_embs.npy, model.onnx."""
    run, m = trainer.run_dir, trainer.model
    ck.write(os.path.join(run, "model.ckpt"), dict(trainer.pos, replicas=trainer.shards, trainer="nann_torch"), ck.model_tensors(m))
    m.eval()
    embs = m.all_item_embeddings(trainer.ds.item_cate).cpu().numpy().astype(np.float32)
    save_npy(os.path.join(run, "item_embs.npy"), embs)
    save_npy(os.path.join(run, "item_ids.npy"), np.arange(1, embs.shape[0] + 1, dtype=np.int64))
    if onnx:
        from .export import export_onnx
        export_onnx(m.cpu(), os.path.join(run, "model.onnx"))
        m.to(trainer.device)


# --- command line -----------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(prog="nann_torch.train", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, help="run directory (created, or resumed if it has config.json)")
    p.add_argument("--data", help="prepared dataset directory (nann prepare); needed for a new run")
    p.add_argument("--profile", default="reference", choices=sorted(tconfig.PROFILES))
    for k, v in tconfig.DEFAULTS.items():
        if k in ("data", "profile"):
            continue
        p.add_argument("--" + k.replace("_", "-"), type=type(v), default=None, help=f"(nann train default {v})")
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads per process (0: torch's default)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--no-onnx", action="store_true", help="do not export model.onnx at the end")
    p.add_argument("--no-verify", action="store_true", help="skip the dataset's payload checksums")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(argv if argv is not None else sys.argv[1:])
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    logging.basicConfig(level=logging.INFO if rank == 0 else logging.WARNING, stream=sys.stderr,
                        format=f"%(asctime)s rank{rank} %(levelname)s %(message)s")
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    use_cuda = a.device == "cuda" or (a.device == "auto" and torch.cuda.is_available())
    device = torch.device(f"cuda:{local_rank}") if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    if world > 1:
        dist.init_process_group("nccl" if use_cuda else "gloo")
    try:
        rep = run(a, rank, world, device)
    except Interrupted as e:
        log.warning("%s", e)
        return 130
    except (DatasetError, ck.CheckpointError, ValueError) as e:
        log.error("%s", e)
        return 2
    finally:
        if world > 1 and dist.is_initialized():
            dist.destroy_process_group()
    if rank == 0 and rep is not None:
        if a.json:
            print(json.dumps(rep, indent=2))
        else:
            r = rep["recall"]
            print(f"trained {rep['training']['steps']} steps ({rep['training']['samples_per_s']:.0f} samples/s this session); "
                  f"brute-force Recall@50/@200 {r['50']:.3f}/{r['200']:.3f} (±{rep['recall_stderr']['200']:.3f}) "
                  f"vs popularity {rep['popularity']['50']:.3f}/{rep['popularity']['200']:.3f} ({rep['users']} users)")
    return 0


def run(a, rank, world, device):
    os.makedirs(a.run, exist_ok=True)
    cpath = os.path.join(a.run, "config.json")
    given = tconfig.profile(a.profile)
    set_fields = []
    for k in tconfig.DEFAULTS:
        if k in ("data", "profile"):
            continue
        v = getattr(a, k)
        if v is not None:
            given[k] = v
            set_fields.append(k)
    if a.data:
        given["data"] = a.data
        set_fields.append("data")
    if os.path.exists(cpath):
        with open(cpath) as f:
            rf = json.load(f)
        if rf.get("format") != "nann-run" or rf.get("version") != 1:
            raise SystemExit(f"{cpath}: format {rf.get('format')!r} version {rf.get('version')}, want 'nann-run' version 1")
        cfg = tconfig.merge_resume(rf["train"], given, [k for k in set_fields if k != "data"] +
                                   (["data"] if a.data and os.path.abspath(a.data) != os.path.abspath(rf["train"]["data"]) else []))
        if rf.get("trainer") != "nann_torch":
            raise SystemExit(f"{cpath}: a run of `nann train`, not of nann_torch (start a new --run directory)")
        mcfg = Config.from_json(rf["model"])
    else:
        if not a.data:
            raise SystemExit(f"{a.run} has no config.json: a new run needs a dataset (--data)")
        cfg = given
        if cfg["replicas"] == 0:
            cfg["replicas"] = world
        mcfg = None
    tconfig.validate(cfg)
    if cfg["replicas"] % world:
        raise SystemExit(f"replicas {cfg['replicas']} is not a multiple of the {world} processes")
    ds = Dataset(cfg["data"], verify=not a.no_verify)
    if mcfg is None:
        mcfg = Config(num_item=ds.num_item, num_cate=ds.num_cate, max_len=ds.max_length)
    elif (mcfg.num_item, mcfg.num_cate, mcfg.max_len) != (ds.num_item, ds.num_cate, ds.max_length):
        raise SystemExit(f"dataset {cfg['data']} has {ds.num_item} items, {ds.num_cate} categories, max length {ds.max_length}; "
                         f"the run's model was made for {mcfg.num_item}, {mcfg.num_cate}, {mcfg.max_len}")
    n = ds.train.shape[0] if cfg["max_samples"] <= 0 else min(ds.train.shape[0], cfg["max_samples"])
    if n < cfg["batch"]:
        raise SystemExit(f"dataset {cfg['data']}: {ds.train.shape[0]} training samples (max_samples {cfg['max_samples']}) do not fill one batch of {cfg['batch']}")
    support = int((np.asarray(ds.item_weight[1:]) > 0).sum())
    if cfg["batch"] * cfg["negatives"] > support:
        raise SystemExit(f"batch×negatives = {cfg['batch']}×{cfg['negatives']} distinct negatives per step, but dataset {cfg['data']} "
                         f"has only {support} items that can be sampled; use smaller --batch / --negatives (e.g. --profile demo)")
    if rank == 0 and not os.path.exists(cpath):
        write_json(cpath, {"format": "nann-run", "version": 1, "trainer": "nann_torch", "model": mcfg.to_json(), "train": cfg})
    elif rank == 0:
        with open(cpath) as f:
            rf = json.load(f)
        if rf["train"] != cfg:
            rf["train"] = cfg
            write_json(cpath, rf)
    if rank == 0:
        os.makedirs(os.path.join(a.run, "ckpt"), exist_ok=True)
    if world > 1:
        dist.barrier()
    per = cfg["replicas"] // world
    t = Trainer(a.run, cfg, mcfg, ds, rank, world, device, list(range(rank * per, (rank + 1) * per)))
    got = t.restore()
    if rank == 0:
        log.info("%s run %s: step %d of %d (%d per epoch), batch %d, negatives %d, %d shards on %d processes, device %s",
                 "resuming" if got else "new", a.run, t.pos["step"], t.total_steps, t.steps_per_epoch,
                 cfg["batch"], cfg["negatives"], t.shards, world, device)
    summary = t.train()
    rep = None
    if rank == 0:
        finish(t, onnx=not a.no_onnx)
        rep = evaluate(t.model, ds, cfg["eval_users"], device)
        rep["training"] = summary
        write_json(os.path.join(a.run, "report.json"), rep)
    if world > 1:
        dist.barrier()
    return rep


if __name__ == "__main__":
    sys.exit(main())
