"""Agreement of the real-crop labeller with the synthetic ground truth, and its time per crop.

Runs :class:`dgfas.data.corpora.labels.FaceLabeller` on rendered frames of
every synthetic domain and compares with the maps the renderer knows:

* lives: head-mask IoU (parsing > 0), depth Pearson correlation over the
  ground-truth head, parsing pixel accuracy over the ground-truth head;
* spoofs (every attack of the domain): the same parsing figures against the
  face shown on the medium, and the reflection estimate against the glare
  layer: Pearson correlation of the glare intensity per frame with a glare,
  pooled over all spoof frames, and the mean estimate on lives and spoofs;
* a real photo, ``skimage.data.astronaut()`` (face box x 177-272, y 66-161,
  cropped with a 20% margin): how much of the face box the head mask covers,
  and how far the depth maximum lies from FaceMesh's nose tip.

    python benchmarks/face_labels.py [--subjects 4] [--size 128]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from dgfas.data.corpora.labels import FaceLabeller, specular_layer
from dgfas.data.synthetic.domains import DOMAINS
from dgfas.data.synthetic.shoot import Video, shoot_video


def frames_of(domain: str, subject: int, index: int, attack: int, frames: int, size: int) -> dict[str, np.ndarray]:
    return shoot_video(Video(domain=domain, subject=subject, index=index, split="train", attack=attack,
                             frames=frames, size=size, seed=0))


def parsing_figures(labeller: FaceLabeller, video: dict[str, np.ndarray], live: bool) -> list[tuple[float, ...]]:
    """(found, IoU, depth r, accuracy) per frame; depth r is NaN for spoofs."""
    rows = []
    for image, depth, parsing in zip(video["images"], video["depth"], video["parsing"]):
        labels = labeller.labels(image, live)
        head, predicted = parsing > 0, labels.parsing > 0
        iou = (head & predicted).sum() / max((head | predicted).sum(), 1)
        accuracy = (labels.parsing[head] == parsing[head]).mean()
        r = np.corrcoef(labels.depth[head].astype(np.float32), depth[head].astype(np.float32))[0, 1] if live else np.nan
        rows.append((float(labels.mesh_found), iou, r, accuracy))
    return rows


def astronaut_figures(labeller: FaceLabeller) -> None:
    from skimage import data

    (x, y, side), margin = (177, 66, 95), 19
    crop = data.astronaut()[y - margin:y + side + margin, x - margin:x + side + margin]
    labels = labeller.labels(crop, live=True)
    size = crop.shape[0]
    box = np.zeros((size, size), bool)
    box[margin:-margin, margin:-margin] = True
    mask = labels.parsing > 0
    nose = labeller.face_mesh.landmarks(crop)[1, :2]
    peak = np.array(np.unravel_index(np.argmax(labels.depth), labels.depth.shape))[::-1]
    print(f"astronaut ({size} px crop): mesh found {labels.mesh_found}, head mask covers "
          f"{(mask & box).sum() / box.sum():.2f} of the face box, {(mask & box).sum() / mask.sum():.2f} of the mask "
          f"is inside it, depth maximum {np.linalg.norm(peak - nose) / size:.3f} crop sides from the nose tip")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=4)
    parser.add_argument("--size", type=int, default=128)
    args = parser.parse_args()
    labeller = FaceLabeller()

    np.seterr(invalid="ignore")  # a correlation over frames without a mesh is nan, and printed as such
    print(f"{args.subjects} subjects per domain, {args.size} px crops; accuracy and depth r over the ground-truth head")
    print(f"{'domain':14s} {'kind':6s} {'frames':>6s} {'found':>6s} {'IoU':>6s} {'depth r':>8s} {'parse acc':>9s}"
          f" {'glare r/frame':>13s} {'glare r pooled':>14s} {'est. mean':>9s}")
    for name, domain in DOMAINS.items():
        lives = [frames_of(name, s, 0, -1, 2, args.size) for s in range(args.subjects)]
        spoofs = [frames_of(name, s, 1 + a, a, 1, args.size)
                  for a in range(len(domain.attacks)) for s in range(args.subjects)]
        live_rows = np.array([row for video in lives for row in parsing_figures(labeller, video, True)])
        spoof_rows = np.array([row for video in spoofs for row in parsing_figures(labeller, video, False)])
        live_estimate = np.mean([specular_layer(image).mean() for video in lives for image in video["images"]])

        per_frame, truths, estimates = [], [], []
        for video in spoofs:
            truth = video["reflection"][0].astype(np.float32).mean(2)
            estimate = specular_layer(video["images"][0])[..., 0]
            truths.append(truth.ravel())
            estimates.append(estimate.ravel())
            if truth.max() > 0.01:
                per_frame.append(np.corrcoef(truth.ravel(), estimate.ravel())[0, 1])
        pooled = np.corrcoef(np.concatenate(truths), np.concatenate(estimates))[0, 1]
        spoof_estimate = np.mean([e.mean() for e in estimates])

        found, iou, r, accuracy = live_rows.mean(0)
        print(f"{name:14s} {'live':6s} {len(live_rows):6d} {found:6.2f} {iou:6.3f} {r:8.3f} {accuracy:9.3f}"
              f" {'':13s} {'':14s} {live_estimate:9.4f}")
        found, iou, _, accuracy = spoof_rows.mean(0)
        glare = f"{np.mean(per_frame):.3f} ({len(per_frame)})" if per_frame else "no glare"
        print(f"{'':14s} {'spoof':6s} {len(spoof_rows):6d} {found:6.2f} {iou:6.3f} {'-':>8s} {accuracy:9.3f}"
              f" {glare:>13s} {pooled:14.3f} {spoof_estimate:9.4f}")

    astronaut_figures(labeller)
    crop = frames_of("synth-oulu", 0, 0, -1, 1, args.size)["images"][0]
    for what, run in (("facemesh", lambda: labeller.face_mesh.landmarks(crop)),
                      ("labels, live", lambda: labeller.labels(crop, True)),
                      ("labels, spoof", lambda: labeller.labels(crop, False))):
        run()
        times = []
        for _ in range(20):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        print(f"{what:14s} {1000 * statistics.median(times):6.1f} ms per {args.size} px crop (median of 20)")


if __name__ == "__main__":
    main()
