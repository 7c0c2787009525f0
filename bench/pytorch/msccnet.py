"""MSCCNet in plain PyTorch, written from official-spec.md §1–§7 (the authors' code, shape by
shape), with the official state-dict names, so that bench/train.ts and scripts/gpu-check
(bench/gpu-check.ts) can time the reference training step on this machine in the same run as
ours and check that both are the same network (it loads our weights and compares eval outputs).

Protocol (one request per stdin line, one JSON answer per stdout line):
  {"op": "parity", "weights": W, "input": X}   eval forward on X with weights W (safetensors)
  {"op": "step"}                                one training step (batch, side from argv)
  {"op": "infer", "batch": N}                   one eval forward of N images under no_grad
  {"op": "reset_peak"}                          restart the peak GPU memory count
argv: side batch threads [device (cpu) [precision: fp32 | bf16 | fp16 (fp32)]]
On a GPU every answer is timed after torch.cuda.synchronize() and carries peakBytes
(torch.cuda.max_memory_allocated); bf16/fp16 run under torch.autocast (fp16 with a GradScaler).
"""
import json
import math
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def conv1(i, o, s=1):
    return nn.Conv2d(i, o, 1, s, bias=False)


def conv3(i, o, s=1, d=1):
    return nn.Conv2d(i, o, 3, s, d, d, bias=False)


def conv_bn_relu(i, o, k=3):
    return nn.Sequential(conv3(i, o) if k == 3 else conv1(i, o), nn.BatchNorm2d(o), nn.ReLU())


class Bottleneck(nn.Module):
    def __init__(self, inp, planes, stride, dilation, downsample):
        super().__init__()
        self.conv1, self.bn1 = conv1(inp, planes), nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = conv3(planes, planes, stride, dilation), nn.BatchNorm2d(planes)
        self.conv3, self.bn3 = conv1(planes, 4 * planes), nn.BatchNorm2d(4 * planes)
        self.downsample = downsample

    def forward(self, x):
        out = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(self.bn3(self.conv3(out)) + identity)


def res_layer(inp, planes, blocks, stride, dilation):
    ds = nn.Sequential(conv1(inp, 4 * planes, stride), nn.BatchNorm2d(4 * planes))
    first = dilation // 2 if dilation > 1 else 1  # contract_dilation (§2)
    return nn.Sequential(Bottleneck(inp, planes, stride, first, ds),
                         *[Bottleneck(4 * planes, planes, 1, dilation, None) for _ in range(blocks - 1)])


class Backbone(nn.Module):  # ResNet-50 V1c, os8 (§2)
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(conv3(3, 32, 2), nn.BatchNorm2d(32), nn.ReLU(), conv3(32, 32), nn.BatchNorm2d(32), nn.ReLU(),
                                  conv3(32, 64), nn.BatchNorm2d(64), nn.ReLU())
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1, self.layer2 = res_layer(64, 64, 3, 1, 1), res_layer(256, 128, 4, 2, 1)
        self.layer3, self.layer4 = res_layer(512, 256, 6, 1, 2), res_layer(1024, 512, 3, 1, 4)

    def forward(self, x):
        c1 = self.layer1(self.maxpool(self.stem(x)))
        c2 = self.layer2(c1)
        c3 = self.layer3(c2)
        return c2, c3, self.layer4(c3)


def dct_weight(channels=512, side=64, k=8):  # §5.1, computed in float64 like Python's math
    w = np.zeros((channels, side, side))
    a = lambda f: 1 / math.sqrt(side) if f == 0 else math.sqrt(2) / math.sqrt(side)
    for ch in range(channels):
        u, v = ch // (channels // k), (ch // (channels // (k * k))) % k
        col = np.array([a(u) * math.cos(math.pi * u * (i + 0.5) / side) for i in range(side)])
        row = np.array([a(v) * math.cos(math.pi * v * (j + 0.5) / side) for j in range(side)])
        w[ch] = np.outer(col, row)
    return torch.tensor(w, dtype=torch.float32)


class Frequency(nn.Module):
    def __init__(self, side):
        super().__init__()
        self.register_buffer('weight', dct_weight(side=side))


class GCN(nn.Module):
    def __init__(self, nodes, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(nodes, nodes, 1, bias=False)
        self.conv2 = nn.Linear(channels, channels, bias=False)

    def forward(self, x):
        return self.conv2(F.relu(self.conv1(x) + x))


class MSCC(nn.Module):  # §5.2, n=4 groups of c=128 channels, K=2 classes
    def __init__(self, side, n=4, c=128, k=2):
        super().__init__()
        self.n, self.c, self.k = n, c, k
        self.frequency = Frequency(side)
        self.decoder_map = nn.Sequential(conv1(c, c), nn.BatchNorm2d(c), nn.ReLU(), nn.Dropout2d(0.1), nn.Conv2d(c, k, 1))
        self.fuse = nn.Conv2d(n, 1, 1)
        self.gcn = GCN(n, c)
        self.bottleneck = conv_bn_relu(2 * n * c, n * c)

    def split(self, x):
        b, _, h, w = x.shape
        return x.view(b, self.n, self.c, h, w).permute(0, 1, 3, 4, 2)

    def forward(self, fa):
        b, _, h, w = fa.shape
        n, c, k, p = self.n, self.c, self.k, h * w
        fres = fa * self.frequency.weight
        xs, fs = self.split(fa), self.split(fres)
        fres_map = self.decoder_map(fs.reshape(b * n, h, w, c).permute(0, 3, 1, 2))
        aux = self.fuse(fres_map.reshape(b, n, k, p)).view(b, k, h, w)
        centers = self.gcn(fres_map.reshape(b, n, k, p) @ fs.reshape(b, n, p, c))
        weights = torch.softmax(xs.reshape(b, n, p, c) @ centers.transpose(-1, -2), dim=-1)
        out = (weights @ centers).view(b, n, h, w, c).permute(0, 1, 4, 2, 3).reshape(b, n * c, h, w)
        return self.bottleneck(torch.cat([fa, out], 1)), aux


class Classifier(nn.Module):  # §3: avgpool(C4) → fc; the official prefix is `classifer.fc` (sic)
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2048, 2)

    def forward(self, c4):
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(c4, 1), 1))


class MSCCNet(nn.Module):
    def __init__(self, input_size=512):
        super().__init__()
        self.backbone_net = Backbone()
        self.classifer = Classifier()
        self.bottleneck1, self.bottleneck2, self.bottleneck3 = conv_bn_relu(512, 512), conv_bn_relu(1024, 512), conv_bn_relu(2048, 512)
        self.bottleneck_fusion = conv_bn_relu(1536, 512)
        self.mscc = MSCC(input_size // 8)  # the DCT buffer has the stride-8 map's size (§5.1)
        self.decoder = nn.Sequential(conv1(512, 512), nn.BatchNorm2d(512), nn.ReLU(), nn.Dropout2d(0.1), nn.Conv2d(512, 2, 1))

    def forward(self, x):
        c2, c3, c4 = self.backbone_net(x)
        image_logits = self.classifer(c4)
        fa = self.bottleneck_fusion(torch.cat([self.bottleneck1(c2), self.bottleneck2(c3), self.bottleneck3(c4)], 1))
        fm, aux = self.mscc(fa)
        return image_logits, self.decoder(fm), aux


def read_safetensors(path):
    dtypes = {'F32': np.float32, 'F64': np.float64, 'I64': np.int64}
    with open(path, 'rb') as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], 'little')
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        b, en = e['data_offsets']
        out[name] = torch.from_numpy(np.frombuffer(raw[8 + n + b:8 + n + en], dtype=dtypes[e['dtype']]).reshape(e['shape']).copy())
    return out


def main():
    side, batch, threads = map(int, sys.argv[1:4])
    device = torch.device(sys.argv[4] if len(sys.argv) > 4 else 'cpu')
    precision = sys.argv[5] if len(sys.argv) > 5 else 'fp32'
    cuda = device.type == 'cuda'
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if cuda:
        torch.backends.cudnn.benchmark = True  # fixed input sizes, as our trainer
    model = MSCCNet(side).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.009, momentum=0.9, weight_decay=5e-4)
    amp_dtype = {'fp32': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}[precision]
    scaler = torch.cuda.amp.GradScaler() if precision == 'fp16' else None
    autocast = lambda: torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None)
    x = torch.randn(batch, 3, side, side, device=device)
    seg = torch.zeros(batch, side, side, dtype=torch.long, device=device)
    label = torch.tensor([1, 0] * (batch // 2) + [1] * (batch % 2), device=device)
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    answer = lambda d: print(json.dumps({**d, 'peakBytes': torch.cuda.max_memory_allocated(device) if cuda else None}), flush=True)
    print(json.dumps({'ready': True, 'parameters': sum(p.numel() for p in model.parameters()), 'torch': torch.__version__,
                      'gpu': torch.cuda.get_device_name(device) if cuda else None}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        if req['op'] == 'parity':
            model.load_state_dict(read_safetensors(req['weights']), strict=True)
            model.eval()
            with torch.no_grad():
                image_logits, mask_logits, _ = model(read_safetensors(req['input'])['x'].to(device))
            model.train()
            print(json.dumps({'image_logits': image_logits.flatten().tolist(), 'mask_logits': mask_logits.flatten().tolist()}), flush=True)
        elif req['op'] == 'reset_peak':
            if cuda:
                torch.cuda.reset_peak_memory_stats(device)
            answer({})
        elif req['op'] == 'infer':
            xi = torch.randn(req['batch'], 3, side, side, device=device)
            model.eval()
            sync()
            t0 = time.perf_counter()
            with torch.no_grad(), autocast():
                model(xi)
            sync()
            model.train()
            answer({'seconds': time.perf_counter() - t0})
        else:  # §7: three cross-entropies at full resolution, SGD + momentum + weight decay
            sync()
            t0 = time.perf_counter()
            with autocast():
                image_logits, mask_logits, aux = model(x)
                up = lambda t: F.interpolate(t, size=(side, side), mode='bilinear', align_corners=False)
                loss = (F.cross_entropy(image_logits, label) + F.cross_entropy(up(aux), seg, ignore_index=255)
                        + F.cross_entropy(up(mask_logits), seg, ignore_index=255))
            opt.zero_grad(set_to_none=True)
            if scaler is None:
                loss.backward()
                opt.step()
            else:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            sync()
            answer({'seconds': time.perf_counter() - t0, 'maxRssKiB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss})


if __name__ == '__main__':
    main()
