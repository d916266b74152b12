"""MTASS separator (speech / singing heads), its losses and separation metrics.

``jrsv.separation.metrics`` (needs ``fast_bss_eval``) is imported on demand.
"""
from jrsv.separation.loss import (MTASSLoss, consistency_loss, discriminative_loss, mag_loss,
                                  masked_mae)
from jrsv.separation.model import MTASS, mtass_num_params

__all__ = ["MTASS", "MTASSLoss", "consistency_loss", "discriminative_loss", "mag_loss",
           "masked_mae", "mtass_num_params"]
