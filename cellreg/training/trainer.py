"""Training with Accelerate: one CPU, one GPU or many processes from the same config.

Model selection uses one configured validation metric; the test split is evaluated exactly once,
with the selected weights, after training (design trap §7.6). Only the main process writes.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState, GradientState
from accelerate.utils import DistributedDataParallelKwargs, broadcast_object_list, gather_object, send_to_device, \
    set_seed
from tqdm.auto import tqdm

from cellreg import __version__
from cellreg.config import ConfigError, RunConfig, to_toml
from cellreg.data.batches import loader
from cellreg.data.label_groups import is_default
from cellreg.plugin_api.registry import Registry
from cellreg.training.callbacks import Callback, Checkpoints, standard_callbacks
from cellreg.training.checkpoint import load_weights
from cellreg.training.coverage import Coverage
from cellreg.training.group_metrics import add_intervals, higher_is_better, resolve_select, score_groups, \
    selected_value
from cellreg.training.metrics import json_safe, spread
from cellreg.training.pipeline import Data, Pipeline
from cellreg.training.profile_metrics import add_baselines
from cellreg.training.environment_metrics import metrics_by_environment
from cellreg.training.rundir import RunDir, RunInfo

log = logging.getLogger("cellreg")


def _lr_lambda(kind: str, total: int, warmup: int):
    def factor(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        progress = min((step - warmup) / max(total - warmup, 1), 1.0)
        if kind == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * progress))
        if kind == "linear":
            return 1.0 - progress
        return 1.0

    return factor


def apply_threads(threads: int) -> None:
    """``train.threads``: torch's intra-op CPU threads for this process (0 leaves torch's default)."""
    if threads:
        torch.set_num_threads(threads)


def _fresh_accelerator(config: RunConfig, tracking_dir: Path) -> Accelerator:
    # AcceleratorState is a process-wide singleton; a second run in one process must not inherit it.
    AcceleratorState._reset_state()
    GradientState._reset_state()
    # cpu=True without a GPU: Accelerate then runs several processes data-parallel over gloo.
    # DDP: a schedule may leave parts of the model out of the loss for a while (DANGO's head while
    # pretraining), and graph tensors are buffers that never change, so they need no broadcast.
    ddp = DistributedDataParallelKwargs(find_unused_parameters=True, broadcast_buffers=False)
    return Accelerator(cpu=config.train.cpu or not torch.cuda.is_available(),
                       mixed_precision=config.train.mixed_precision,
                       gradient_accumulation_steps=config.train.grad_accum, kwargs_handlers=[ddp],
                       log_with=list(config.train.log_with) or None, project_dir=str(tracking_dir))


def _better(value: float, best: float | None, higher: bool) -> bool:
    if math.isnan(value):
        return best is None
    if best is None or math.isnan(best):
        return True
    return value > best if higher else value < best


class Trainer:
    """The loop: epochs of training, validation and model selection, then one test evaluation.
    What it writes, the ``callbacks`` write (main process only); ``callbacks`` adds pieces of the
    caller's (a sweep's pruning), which run after the standard ones and may :meth:`request_stop`."""

    def __init__(self, pipeline: Pipeline, run_dir: RunDir, fresh: bool = False,
                 callbacks: tuple[Callback, ...] = ()) -> None:
        config = pipeline.config
        self.config, self.dir, self.pipeline = config, run_dir, pipeline
        self.acc = _fresh_accelerator(config, run_dir.tracking)
        if fresh:
            run_dir.refuse_unless_new(to_toml(config))
        self.acc.wait_for_everyone()  # every rank has looked before the main one writes
        # Without this, CPU index-add backward varies in the last bit between processes and the
        # difference grows over epochs (0.003 in test Pearson after 20 epochs of the baseline).
        torch.use_deterministic_algorithms(config.train.deterministic, warn_only=True)
        apply_threads(config.train.threads)
        set_seed(config.seed)
        pipeline.write_cache = self.acc.is_main_process
        self.data: Data = pipeline.data  # graph, table, split: before the op and the model, as ever
        # train.select as val.<group>.<metric> (the old val.<label>.<metric> names a one-label group)
        self.select = resolve_select(config.train.select, self.data.table.label_groups, str(pipeline.source))
        self.op = pipeline.op
        self.model = pipeline.model
        self.history, self.callbacks = standard_callbacks(run_dir)
        self.callbacks += list(callbacks)
        self.stop_reason: str | None = None
        tc = config.train
        params = [p for p in self.model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=tc.lr, weight_decay=tc.weight_decay)
        collate = self.collate = pipeline.collate
        split = self.data.split
        eval_rows = np.random.default_rng([config.seed, 7]).permutation(split.train)[: tc.train_eval_rows]
        train = loader(split.train, collate, tc.batch_size, tc.num_workers, shuffle_seed=config.seed)
        self.model, self.optimizer, self.train_loader = self.acc.prepare(self.model, optimizer, train)
        steps = tc.epochs * math.ceil(len(self.train_loader) / tc.grad_accum)  # this process's share
        # torch's LambdaLR with closed-form factors, on the unwrapped optimizer; chaining LinearLR and
        # CosineAnnealingLR computes the same schedule recursively, which changes its last bits.
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, _lr_lambda(tc.scheduler, steps, int(tc.warmup_fraction * steps)))
        # Evaluation: each process scores its own disjoint share of the rows, gathered once at the end
        # (Accelerate's sharding, and so gather_for_metrics, would pad the last batch with repeats, which
        # the loss would count: tests/test_multiprocess.py).
        rank, world = self.acc.process_index, self.acc.num_processes
        self.train_eval_loader, self.val_loader, self.test_loader = (
            loader(rows[rank::world], collate, tc.eval_batch_size, tc.num_workers)
            for rows in (np.sort(eval_rows), split.val, split.test))
        self.state = {"epoch": 0, "best_value": None, "best_epoch": None, "train_seconds": 0.0,
                      "strains_trained": 0}

    # -- bookkeeping ---------------------------------------------------------------------------
    @property
    def main(self) -> bool:
        return self.acc.is_main_process

    def write_start(self) -> None:
        """A fresh run: its resolved config, split and record, before the first epoch."""
        if not self.main:
            return
        self.dir.root.mkdir(parents=True, exist_ok=True)
        self.dir.write_config(to_toml(self.config))
        self.dir.write_split(self.data.split, self.data.dropped)
        config, data = self.config, self.data
        self.dir.write_info(RunInfo(
            name=config.name, encoder=config.model.encoder.name, head=config.model.head.name,
            perturbation=config.perturbation.name, graph_fingerprint=data.graph.fingerprint(),
            data_fingerprint=data.fingerprint, split_key=data.split.key, split=config.split.kind,
            split_sizes=data.split.sizes(), labels=list(data.table.label_names), scaler=data.scaler.to_dict(),
            label_groups=[] if is_default(data.table.label_groups, data.table.label_names)
            else [g.to_dict() for g in data.table.label_groups],
            base_dir=str(self.pipeline.base_dir), num_processes=self.acc.num_processes, cellreg_version=__version__,
            max_strain_size=int(np.diff(data.table.offsets).max()),
            coverage=Coverage.of(data.table, data.split.train).to_dict(),
            environment=self.pipeline.environment.to_dict(),
        ))
        provenance = self.pipeline.phenotypes.provenance()
        if provenance:  # where the strains came from beyond the config (a study store's files and hashes)
            self.dir.write_provenance(provenance)

    def resume(self) -> None:
        """Continue from the last checkpoint, on the data the run was trained on."""
        info = self.dir.read_info()
        if info.data_fingerprint != self.data.fingerprint:
            raise ConfigError(str(self.dir.root), ["the data no longer matches this run (data fingerprint "
                                                   f"{info.data_fingerprint} != {self.data.fingerprint})"])
        Checkpoints.load(self)
        self.acc.wait_for_everyone()

    # -- loops ---------------------------------------------------------------------------------
    def train_epoch(self, epoch: int) -> dict:
        tc = self.config.train
        self.model.train()
        for part in self.acc.unwrap_model(self.model).parts():  # schedules (e.g. pretrain, then joint)
            part.on_epoch_start(epoch, tc.epochs)
        self.train_loader.set_epoch(epoch)  # Accelerate re-sets the sampler epoch from this
        set_seed((self.config.seed * 100_003 + epoch) % 2**32, device_specific=True)  # any seed; same below 42,949
        total = torch.zeros((), device=self.acc.device)
        parts: dict[str, torch.Tensor] = {}
        batches = 0
        bar = tqdm(self.train_loader, desc=f"epoch {epoch + 1}/{tc.epochs}", leave=False,
                   disable=True if not (tc.progress and self.main) else None)  # None: off when not a TTY
        start = time.perf_counter()
        for batch in bar:
            with self.acc.accumulate(self.model):
                out = self.model(batch)
                self.acc.backward(out["loss"])
                if self.acc.sync_gradients and tc.grad_clip > 0:
                    self.acc.clip_grad_norm_(self.model.parameters(), tc.grad_clip)
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
                if self.acc.sync_gradients:
                    self.scheduler.step()
            total += out["loss"].detach()
            for k, v in out.items():
                if k.startswith("loss/"):
                    parts[k] = parts.get(k, 0) + v
            batches += 1
            if batches % 50 == 0 and not bar.disable:  # one sync per 50 steps, only for the bar
                bar.set_postfix(loss=f"{(total / batches).item():.4f}")
        self.acc.wait_for_everyone()
        self.state["train_seconds"] += time.perf_counter() - start
        self.state["strains_trained"] += len(self.data.split.train)
        loss = (self.acc.reduce(total, "mean") / max(batches, 1)).item()
        if not math.isfinite(loss):
            raise FloatingPointError(f"training loss became {loss} in epoch {epoch + 1}; the last good "
                                     f"checkpoint is in {self.dir.checkpoint}")
        return {"train_loss": loss,
                "train_loss_parts": {k[5:]: (self.acc.reduce(v, "mean") / batches).item() for k, v in parts.items()}}

    @torch.no_grad()
    def evaluate(self, data_loader) -> tuple[dict, np.ndarray, np.ndarray]:
        """Metrics in raw units over the whole split: every process scores its own rows, then one
        gather (no row counted twice, in the metrics or in the loss)."""
        self.model.eval()
        preds, rows = [np.zeros((0, len(self.data.table.label_names)), np.float32)], [np.zeros(0, np.int64)]
        loss_sum = torch.zeros((), device=self.acc.device)
        count = torch.zeros((), device=self.acc.device)
        for batch in data_loader:
            out = self.model(send_to_device(batch, self.acc.device))
            n = batch["row"].shape[0]
            loss_sum += out["loss"].float() * n
            count += n
            preds.append(out["pred"].float().cpu().numpy())
            rows.append(batch["row"].numpy())
        shares = gather_object([(np.concatenate(preds), np.concatenate(rows))])
        rows_np = np.concatenate([r for _, r in shares])
        order = np.argsort(rows_np, kind="stable")
        pred = self.data.scaler.inverse(np.concatenate([p for p, _ in shares])[order])
        obs = self.data.table.labels[rows_np[order]]
        metrics = score_groups(pred, obs, self.data.table.label_names, self.data.table.label_groups)
        metrics["loss"] = (self.acc.reduce(loss_sum, "sum") / self.acc.reduce(count, "sum").clamp(min=1)).item()
        return metrics, pred, obs

    @torch.no_grad()
    def diagnostics(self) -> dict:
        """Over-smoothing of the encoder's embeddings on one validation batch, plus whatever the
        encoder reports itself (e.g. how well graph-tied heads recover their graphs)."""
        encoder = self.acc.unwrap_model(self.model).encoder
        out = {}
        rows = self.data.split.val[: self.config.train.eval_batch_size]
        if len(rows):  # built here, not drawn from the prepared loader (a half-read loader upsets Accelerate)
            batch = send_to_device(self.collate(rows.tolist()), self.acc.device)
            state = encoder(batch)
            emb = {"genes": state.genes, "cell": state.cell if state.cell is not None and state.cell.dim() > 1 else None}
            out["spread"] = {k: round(spread(v), 4) for k, v in emb.items() if v is not None and v.shape[-1] > 0}
        out.update(encoder.epoch_diagnostics())
        return out

    def _patience_spent(self) -> bool:
        """``train.patience`` epochs have passed since the selected metric last improved."""
        patience, best = self.config.train.patience, self.state["best_epoch"]
        return bool(patience) and best is not None and self.state["epoch"] - best >= patience

    def request_stop(self, reason: str) -> None:
        """End training after this epoch (a callback's call, on the main process): the selected
        weights are then tested as after early stopping."""
        self.stop_reason = reason

    def _stop_requested(self) -> bool:
        """The main process's stop request, seen by every process."""
        if self.acc.num_processes > 1:
            self.stop_reason = broadcast_object_list([self.stop_reason])[0]
        return self.stop_reason is not None

    def _call(self, hook: str, *args) -> None:
        if self.main:
            for callback in self.callbacks:
                getattr(callback, hook)(self, *args)

    def fit(self, stop_after_epoch: int | None = None, resumed: bool = False) -> dict | None:
        tc = self.config.train
        higher = higher_is_better(self.select, self.data.table.label_groups)
        self._call("on_fit_start", resumed)
        self.acc.wait_for_everyone()
        for epoch in range(self.state["epoch"], tc.epochs):
            if self._patience_spent():
                break
            entry = {"epoch": epoch + 1, **self.train_epoch(epoch)}
            entry["train"], _, _ = self.evaluate(self.train_eval_loader)
            entry["val"], _, _ = self.evaluate(self.val_loader)
            entry.update(self.diagnostics())
            entry["lr"] = self.scheduler.get_last_lr()[0]
            value = selected_value(entry, self.select)
            improved = _better(value, self.state["best_value"], higher)
            if improved:
                self.state["best_value"], self.state["best_epoch"] = value, epoch + 1
            self.state["epoch"] = epoch + 1
            self._call("on_epoch_end", entry, improved)
            if self.main:
                log.info(_epoch_line(entry, tc.epochs, self.select, value, improved))
            self.acc.wait_for_everyone()
            if self._stop_requested():
                if self.main:
                    log.info("stopping after epoch %d: %s", epoch + 1, self.stop_reason)
                break
            if stop_after_epoch is not None and epoch + 1 >= stop_after_epoch and epoch + 1 < tc.epochs:
                return None  # used by tests to simulate a crash
        return self.finish()

    def finish(self) -> dict:
        """Evaluate the test split once, with the selected weights, and hand the report to the callbacks."""
        self.acc.wait_for_everyone()
        load_weights(self.acc.unwrap_model(self.model), self.dir.best)
        test, pred, obs = self.evaluate(self.test_loader)
        if self.main:  # once, not on every rank: the other ranks write nothing
            table = self.data.table
            add_intervals(test, pred, obs, table.label_names, table.label_groups, self.config.seed)
            add_baselines(test, pred, table, self.data.split.train, np.sort(self.data.split.test))  # profiles
        best = next(h for h in self.history.read() if h["epoch"] == self.state["best_epoch"])
        seconds = self.state["train_seconds"]
        report = json_safe({
            "test": test, "val": best["val"], "train": best["train"],
            "selected_epoch": self.state["best_epoch"], "select": self.select,
            "epochs": self.state["epoch"], "stopped_early": self.state["epoch"] < self.config.train.epochs,
            "stop_reason": self.stop_reason,
            "train_seconds": round(seconds, 3),
            "strains_per_second": round(self.state["strains_trained"] / seconds, 1) if seconds else None,
            "split_sizes": self.data.split.sizes(), "num_processes": self.acc.num_processes,
            **({"test_by_environment": metrics_by_environment(self.data.table, self.data.split.test, pred, obs,
                                                              self.config.split)} if self.data.table.environment else {}),
        })
        self._call("on_fit_end", report, pred, obs)
        self.acc.wait_for_everyone()
        return report


def _epoch_line(entry: dict, epochs: int, select: str, value: float, improved: bool) -> str:
    mark = "  *best*" if improved else ""
    return (f"epoch {entry['epoch']}/{epochs}  train loss {entry['train_loss']:.4f}  "
            f"val loss {entry['val']['loss']:.4f}  {select} {value:.4f}{mark}")


def run(config_path: str | Path | None, out: str | Path, overrides: list[str] = (), resume: bool = False,
        registry: Registry | None = None, stop_after_epoch: int | None = None,
        callbacks: tuple[Callback, ...] = ()) -> dict | None:
    """Train (or resume) one run; returns the final report, or None if stopped early on purpose.
    ``callbacks`` join the standard ones (see :class:`Trainer`)."""
    run_dir = RunDir(Path(out))
    if resume:
        run_dir.require("nothing to resume")
        trainer = Trainer(Pipeline.from_run(run_dir, registry, split=run_dir.read_split()), run_dir,
                          callbacks=callbacks)
        trainer.resume()
        if run_dir.finished():
            return json.loads(run_dir.metrics.read_text())
        return trainer.fit(stop_after_epoch, resumed=True)
    pipeline = Pipeline.from_file(config_path, overrides, registry)
    pipeline.preflight()
    trainer = Trainer(pipeline, run_dir, fresh=True, callbacks=callbacks)
    trainer.write_start()
    return trainer.fit(stop_after_epoch)
