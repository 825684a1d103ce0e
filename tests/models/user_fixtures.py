"""Tiny models the bring-your-own-model tests build and save themselves (no downloads)."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

SENTENCES = [
    "a great movie with a lovely cast", "a terrible film, boring and slow",
    "I loved every minute of it", "I hated the ending", "wonderful acting and a clever plot",
    "the worst script I have seen", "charming, funny and warm", "dull, long and pointless",
]


class TinyCNN(nn.Module):
    """1x8x8 -> 3 classes, every activation a separate nn.ReLU module."""

    def __init__(self, n_classes: int = 3):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(4, 4, 3)
        self.relu2 = nn.ReLU()
        self.fc = nn.Linear(4 * 4 * 4, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.relu2(self.conv2(self.relu1(self.conv1(x)))).flatten(1))


class ReusedReLU(TinyCNN):
    """Same function, but one ReLU module called twice."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.relu1(self.conv2(self.relu1(self.conv1(x)))).flatten(1))


class FunctionalReLU(TinyCNN):
    """Same function, with F.relu / torch.relu instead of the modules."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(F.relu(self.conv2(torch.relu(self.conv1(x)))).flatten(1))


class FixedBatch(TinyCNN):
    """Traced with view(1, -1): only batch size 1 works."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.relu2(self.conv2(self.relu1(self.conv1(x)))).view(1, -1))


def tiny_cnn(cls: type[TinyCNN] = TinyCNN, seed: int = 0) -> TinyCNN:
    torch.manual_seed(seed)
    return cls().eval()


IMAGE_SIDECAR = {"modality": "image", "input_size": [8, 8], "channels": 1,
                 "mean": 0.5, "std": 0.25, "class_names": ["cat", "dog", "fox"]}


def write_json(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data))
    return path


def save_bert(folder: Path, seed: int = 0) -> Path:
    """A 2-layer BERT for 2-class sequence classification + a WordPiece tokenizer trained here."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok.train_from_iterator(SENTENCES, trainers.WordPieceTrainer(vocab_size=300, special_tokens=specials))
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    cfg = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=16, num_hidden_layers=2,
                     num_attention_heads=2, intermediate_size=32, max_position_embeddings=64,
                     num_labels=2, id2label={0: "negative", 1: "positive"},
                     label2id={"negative": 0, "positive": 1}, attn_implementation="eager")
    torch.manual_seed(seed)
    model = BertForSequenceClassification(cfg).eval()
    model.save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


def zip_folder(folder: Path, dest: Path, top: str = "model") -> Path:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, f"{top}/{p.relative_to(folder)}")
    return dest


class WritesFile:
    """Unpickling this object would create a file (the attack a pickle refusal must stop)."""

    def __init__(self, target: str):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def save_vit(folder: Path, seed: int = 0) -> Path:
    """A 1-layer ViT image classifier (16x16, 3 classes) with its image processor."""
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    cfg = ViTConfig(image_size=16, patch_size=4, num_channels=3, hidden_size=16,
                    num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                    num_labels=3, id2label={0: "red", 1: "green", 2: "blue"},
                    label2id={"red": 0, "green": 1, "blue": 2})
    torch.manual_seed(seed)
    ViTForImageClassification(cfg).eval().save_pretrained(folder)
    ViTImageProcessor(size={"height": 16, "width": 16}).save_pretrained(folder)
    return folder
