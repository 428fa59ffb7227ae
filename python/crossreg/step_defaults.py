"""Defaults of the steps that import torch, in a module of their own so that
``crossreg --help`` can show them without importing numpy: how much the inference steps
take at a time (sequences per batch, ``--batch-size``, and for the resumable ones units
per chunk kept on disk, ``--chunk-size``, and how ``predict --bigwig`` keeps them,
``--chunk-dtype``), ISM's mutated width and fine-tuning's modes, and how the head's
option and the inference options a resumable step records are given on the command line."""

from crossreg.io.changes import Option

# sequences per batch (crossreg.model.inference.InferenceOptions)
DEFAULT_BATCH_SIZE = 4  # predict, evaluate: windows
SAD_BATCH_SIZE = 8  # sad: alleles (crossreg.variants.sad, crossreg.variants.scoring)
TRANSFER_BATCH_SIZE = 8  # transfer: windows (crossreg.evaluate.transfer)
ISM_BATCH_SIZE = 16  # ism: mutated sequences (crossreg.variants.ism)

#: The documented option that chooses which head of a model runs, and its other spelling
#: where the step took it first (predict, sad, ism, evaluate)
HEAD_OPTION, HEAD_ALIAS = "--head", "--genome"

#: The recorded inference options (crossreg.model.inference.InferenceOptions) not given as
#: their flags and values: a refused resume names them so (crossreg.io.changes); the others
#: are spelt as their keys (``batch_size``: ``--batch-size``)
INFERENCE_OPTIONS = {
    "channels_last": Option(
        "--trunk-layout", words={"None": "auto", "False": "plain", "True": "channels-last"}
    ),
}

# units per chunk of a resumable run
DEFAULT_CHUNK_WINDOWS = 32  # predict --bigwig: windows (crossreg.predict.bigwig)
DEFAULT_CHUNK_SITES = 16  # ism: sites (crossreg.variants.ism)
DEFAULT_CHUNK_ALLELES = 50_000  # sad: alleles (crossreg.variants.sad)
#: predict --bigwig --chunk-dtype: how the chunks keep the predictions until the BigWigs
#: are written (crossreg.predict.scratch; float16 as Basenji stores predictions: half the
#: space, values rounded to 11 significant bits and clipped to ±65,504); the first is the
#: default
CHUNK_DTYPES = ("float32", "float16")

# ism (crossreg.variants.ism)
ISM_WIDTH = 200  # central bases mutated per site

# finetune (crossreg.train.finetune.FineTuneSpec)
FINETUNE_MODES = ("probe", "unfreeze", "lora")  # the first is the default
UNFREEZE_BLOCKS = 1  # --mode unfreeze: the trunk's last blocks that train
LORA_RANK = 8  # --mode lora: the adapters' rank
#: --mode lora without --learning-rate: the most of an SGD parent's learning rate that
#: the adapters train at (Basenji2's 0.15 with momentum 0.99 sends them to a training loss
#: in the thousands within tens of steps: crossreg.train.finetune.default_learning_rate)
LORA_SGD_LEARNING_RATE = 0.005
