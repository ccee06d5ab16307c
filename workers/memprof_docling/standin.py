"""``python -m memprof_docling.standin ARTIFACTS``: stand-in model weights for docling.

docling-jobkit initialises the PDF pipeline, with its layout model, on every job whatever the
input format, and model weights cannot be downloaded here. This writes a layout model with the
real architecture and size (docling's ``docling-layout-heron``: an RT-DETR v2 object detector,
``RTDetrV2ForObjectDetection`` from ``transformers``, 42.8 M parameters, 172 MB of safetensors,
with docling's 17 layout labels), **randomly initialised**, where docling's ``artifacts_path``
layout expects it (``ARTIFACTS/docling-project--docling-layout-heron/``), and ``STANDIN.json``
saying so. With it the real pipeline loads and runs: its memory is real, its layout
predictions are meaningless. TableFormer and OCR have no stand-ins: jobs need
``do_table_structure: false`` and ``do_ocr: false`` unless real weights are in the folder.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

LAYOUT_DIR = "docling-project--docling-layout-heron"
LABELS = ["caption", "footnote", "formula", "list_item", "page_footer", "page_header", "picture",
          "section_header", "table", "text", "title", "document_index", "code",
          "checkbox_selected", "checkbox_unselected", "form", "key_value_region"]


def write_layout(artifacts: Path, seed: int = 0) -> int:
    """Write the layout stand-in; returns its parameter count."""
    import torch
    from transformers import RTDetrImageProcessor, RTDetrV2Config, RTDetrV2ForObjectDetection

    torch.manual_seed(seed)
    config = RTDetrV2Config(num_labels=len(LABELS), id2label=dict(enumerate(LABELS)),
                            label2id={label: i for i, label in enumerate(LABELS)})
    model = RTDetrV2ForObjectDetection(config)
    out = artifacts / LAYOUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    RTDetrImageProcessor().save_pretrained(out)
    return sum(p.numel() for p in model.parameters())


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m memprof_docling.standin ARTIFACTS_DIR\n")
        return 2
    artifacts = Path(argv[0])
    marker = artifacts / "STANDIN.json"
    if marker.is_file() and (artifacts / LAYOUT_DIR / "model.safetensors").is_file():
        print(f"{artifacts}: stand-in weights already there")
        return 0
    begin = time.monotonic()
    params = write_layout(artifacts)
    marker.write_text(json.dumps({
        "synthetic": True,
        "models": ["layout"],
        "layout": {"dir": LAYOUT_DIR, "architecture": "RTDetrV2ForObjectDetection",
                   "parameters": params, "init": "random (torch seed 0)"},
        "note": "stand-in weights: real architecture and size, meaningless predictions",
    }, indent=2) + "\n", encoding="utf-8")
    print(f"{artifacts}: layout stand-in, {params} parameters, {time.monotonic() - begin:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
