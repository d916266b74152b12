"""DDP: torchrun --nproc_per_node 2 on CPU (gloo): equal weights on both ranks, only rank 0 writes."""
import os
import signal
import subprocess
import sys
import textwrap

import torch
import yaml

from jrsv.train.checkpoint import find_latest
from jrsv.train.done import is_done

torch.set_num_threads(1)

SCRIPT = textwrap.dedent('''
    import os, sys, torch, yaml
    torch.set_num_threads(1)
    import jrsv.bin.train as bt
    from jrsv.train import checkpoint as ck
    out = sys.argv[2]
    rank = os.environ["RANK"]
    real = ck.atomic_save
    def logged(obj, path):
        with open(os.path.join(out, f"writes_rank{rank}.txt"), "a") as f:
            f.write(path + "\\n")
        real(obj, path)
    ck.atomic_save = logged
    bt.atomic_save = logged
    conf = yaml.safe_load(open(sys.argv[1]))
    import jrsv.train.trainer as tr
    orig = tr.Trainer.train
    def train_and_dump(self):
        path = orig(self)
        w = {k: v.detach().clone() for k, v in tr.unwrap(self.model).state_dict().items()}
        torch.save(w, os.path.join(out, f"weights_rank{rank}.pt"))
        return path
    tr.Trainer.train = train_and_dump
    bt.run(conf, os.path.join(out, "model"))
''')


def test_torchrun_two_cpu_ranks(tmp_path):
    conf = {"seed": 1, "model": {"kind": "toy", "dropout": 0.1},
            "data": {"n": 48, "batch_size": 4, "iterable": False},
            "optim": {"name": "adam", "lr": 0.01}, "scheduler": {"name": "constant", "warmup_steps": 2},
            "train": {"max_epochs": 2, "keep_last": 2, "average_best": 1, "accum_grad": 2,
                      "grad_clip": 20.0}}
    (tmp_path / "conf.yaml").write_text(yaml.safe_dump(conf))
    (tmp_path / "run.py").write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(tmp_path / "run.py"), str(tmp_path / "conf.yaml"), str(tmp_path)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the workers too
        out, _ = proc.communicate()
    assert proc.returncode == 0, out
    w0 = torch.load(tmp_path / "weights_rank0.pt", weights_only=True)
    w1 = torch.load(tmp_path / "weights_rank1.pt", weights_only=True)
    for k in w0:
        torch.testing.assert_close(w0[k], w1[k], rtol=0, atol=0)
    assert (tmp_path / "writes_rank0.txt").exists()
    assert not (tmp_path / "writes_rank1.txt").exists()
    model_dir = str(tmp_path / "model")
    state = find_latest(model_dir)[1]
    # 48 items / 2 ranks / batch 4 = 6 batches per rank per epoch; accum 2 -> 3 steps per epoch
    assert state["step"] == 6 and state["epoch"] == 2
    for k in w0:
        torch.testing.assert_close(state["model"][k], w0[k])
    assert "valid_loss" in state["metrics"] and is_done(model_dir)
    assert os.path.exists(os.path.join(model_dir, "avg_best.pt"))


def test_ddp_resume_positions_a_sharded_stream_without_replay(tmp_path):
    """Under DDP an on-the-fly stream is sharded by rank (set_shard, no RankShard wrapper that
    makes every example on every rank), and a resumed trainer puts each rank at its next block:
    after 1 step of 2 ranks x batch 2 (4 examples), rank 1 starts at block 3 = examples 6, 7."""
    from test_data_onthefly import _ds

    from jrsv.train.ddp import DistInfo
    from jrsv.train.registry import make_loaders
    from jrsv.train.toy import ToyRegressor
    from jrsv.train.trainer import Trainer

    info = DistInfo(rank=1, world_size=2)
    ds = _ds(tmp_path, preload=True, block=2)
    train, _ = make_loaders({"data": {"batch_size": 2}}, ds, None, None, info)
    assert train.dataset is ds and (ds.rank, ds.world) == (1, 2)
    model = ToyRegressor()
    tr = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), None, train, None,
                 {"model_dir": str(tmp_path / "m"), "max_epochs": 1}, dist_info=info)
    assert tr._position_kind() == "dataset"
    tr.epoch, tr.batch_in_epoch = 0, 1
    first = next(tr._epoch_iterator())
    assert first["index"].tolist() == [6, 7]
