"""The reference annotation (official get_blur, OpenCV + scikit-image 0.19) timed on the pairs bench/annotate.ts
writes: <dir>/real<i>.png, <dir>/fake<i>.png. One thread. Prints one JSON line: medians of decode+compute,
compute, and process CPU per pair over `runs` pairs after one warm-up pass.
  python3 bench/annotate-reference.py DIR PAIRS RUNS
"""
import json, os, sys, time
import cv2, numpy as np
from skimage.metrics import structural_similarity as compare_ssim


def get_blur(fake, real):  # official-spec §11, as the authors' annotation_ff.py writes it
    d, a = compare_ssim(fake, real, full=True)
    diff = 1 - a
    dm = (diff - diff.min()) / (diff.max() - diff.min())
    dm = cv2.GaussianBlur(dm, (5, 5), 0)
    factor = (dm > 0.08) * 1
    dm = fake * factor
    _, mask = cv2.threshold(np.uint8(dm * 255), 0, 255, cv2.THRESH_BINARY)
    dil = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)), iterations=3)
    contours, _ = cv2.findContours(dil, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    hull = []
    for c in contours:
        if c.shape[0] > 5:
            hull = c if len(hull) == 0 else np.concatenate((hull, cv2.convexHull(c, False)))
    img = np.zeros((fake.shape[0], fake.shape[1], 3), dtype=np.uint8)
    img = cv2.fillConvexPoly(img, cv2.convexHull(hull, False), (255, 255, 255))
    er = cv2.erode(img, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)), iterations=3)
    b = cv2.GaussianBlur(er / 255, (7, 7), 0)
    _, b = cv2.threshold(np.uint8(b * 255), 0, 255, cv2.THRESH_BINARY)
    return np.uint8(dm * 255), np.uint8(b)


folder, pairs, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cv2.setNumThreads(1)
total, compute, cpu = [], [], []
for r in range(pairs + runs):  # the first pass over the pairs warms up
    i = r % pairs
    t0, c0 = time.perf_counter(), time.process_time()
    real = cv2.cvtColor(cv2.imread(os.path.join(folder, f'real{i}.png')), cv2.COLOR_BGR2GRAY) / 255.
    fake = cv2.cvtColor(cv2.imread(os.path.join(folder, f'fake{i}.png')), cv2.COLOR_BGR2GRAY) / 255.
    t1 = time.perf_counter()
    get_blur(fake, real)
    t2, c2 = time.perf_counter(), time.process_time()
    if r >= pairs:
        total.append((t2 - t0) * 1000); compute.append((t2 - t1) * 1000); cpu.append((c2 - c0) * 1000)
median = lambda xs: round(sorted(xs)[len(xs) // 2], 2)
print(json.dumps({'runs': runs, 'decodeComputeMs': median(total), 'minDecodeComputeMs': round(min(total), 2),
                  'computeMs': median(compute), 'cpuMs': median(cpu), 'opencv': cv2.__version__}))
