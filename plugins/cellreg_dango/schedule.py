"""DANGO's training schedule: reconstruction only, then joint training, optionally with a linear
hand-over between the two.

Two factors per epoch: ``main`` scales the gradient the prediction losses send through the head
(0 = the head is not trained at all), ``recon`` scales the reconstruction loss. With ``P``
pretraining and ``T`` transition epochs, at 0-based epoch ``e``:

    t = 0                    for e < P
    t = (e - P + 1)/(T + 1)  for P <= e < P + T
    t = 1                    afterwards
    main = t,  recon = (1 - t) + t * joint_recon_weight
"""

from __future__ import annotations

import attrs


@attrs.frozen
class Schedule:
    pretrain_epochs: int
    transition_epochs: int
    joint_recon_weight: float

    def progress(self, epoch: int) -> float:
        p, t = self.pretrain_epochs, self.transition_epochs
        if epoch < p:
            return 0.0
        if epoch < p + t:
            return (epoch - p + 1) / (t + 1)
        return 1.0

    def factors(self, epoch: int) -> tuple[float, float]:
        """``(main, recon)`` for a 0-based epoch."""
        t = self.progress(epoch)
        return t, (1.0 - t) + t * self.joint_recon_weight

    def joint(self) -> tuple[float, float]:
        """The factors of joint training: what a model gets before any ``on_epoch_start`` (built by
        hand, or timed by ``cellreg bench``), since the trainer calls it before its first epoch."""
        return 1.0, self.joint_recon_weight
