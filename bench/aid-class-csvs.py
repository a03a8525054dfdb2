"""Writes OUT/classes-val.csv and OUT/classes-test.csv (path,label) for `semiclip eval --classification` from
RSICD's Karpathy JSON in DATA: each val/test image with its AID class, folder names as words ("denseResidential"
becomes "dense residential"). Usage: python3 bench/aid-class-csvs.py DATA OUT"""
import json
import os
import re
import sys

data, out = sys.argv[1], sys.argv[2]
dataset = json.load(open(os.path.join(data, "dataset_rsicd10k.json")))
for split in ["val", "test"]:
    with open(os.path.join(out, f"classes-{split}.csv"), "w") as f:
        f.write("path,label\n")
        for image in dataset["images"]:
            if image["split"] == split:
                label = re.sub(r"(?<!^)(?=[A-Z])", " ", image["label"]).lower()
                f.write(f"{os.path.abspath(os.path.join(data, 'images', image['filename']))},{label}\n")
