"""DCell trains on a last batch of one strain: batch norm then uses (and keeps) its running statistics."""

import torch

from test_dcell import batch, tiny


def test_a_training_batch_of_one_strain_is_normalised_with_the_running_statistics():
    enc = tiny()
    for level in enc.levels:
        for block in level:
            block.norm.running_mean.uniform_(-0.5, 0.5)
            block.norm.running_var.uniform_(0.5, 1.5)
    before = [b.norm.running_mean.clone() for level in enc.levels for b in level]
    one = {k: v[:1] for k, v in batch().items()}
    enc.train()
    state = enc(one)  # nn.BatchNorm1d raised "Expected more than 1 value per channel when training"
    state.cell.sum().backward()
    after = [b.norm.running_mean for level in enc.levels for b in level]
    assert all(torch.equal(a, b) for a, b in zip(before, after))
    enc.eval()
    assert torch.allclose(state.cell, enc(one).cell)
