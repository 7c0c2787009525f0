"""The authors' architectures in plain PyTorch, for bench/methods.ts to time side by side with ours:
FFD's Xception with the regression map (JStehouwer/FFD_CVPR2020 `network/xception_map.py`,
`mask_reg`, ReLUs in place as there) and MVSS-Net (dong03/MVSS-Net `models/mvssnet.py`,
`get_mvss(sobel=True, constrain=True, nclass=1)`: ResNet-50 with DeepLabV3 rates in layer4, edge
residual blocks with Sobel layers, BayarConv noise branch with its own ResNet-50, dual-attention
head) plus the image head the MSCCNet paper adds; Multi-task (ClassNSeg's encoder and Y-shaped
transposed-convolution decoder) and HP-FCN (high-pass depthwise filters, resnet_v2 small, two 4×
transposed convolutions) as in src/models/. Random weights: only the time counts.

argv: method (ffd | mvss | multitask | hpfcn) side mode (forward | train) batch runs threads
One untimed call, then `runs` timed ones; prints one JSON line with bench/methods.ts's fields.
"""
import json
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---- FFD: Xception + regression map -------------------------------------------------------
class SeparableConv2d(nn.Module):
    def __init__(self, cin, cout, k=1, stride=1, padding=0, bias=False):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cin, k, stride, padding, groups=cin, bias=bias)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=bias)

    def forward(self, x):
        return self.pointwise(self.conv1(x))


class Block(nn.Module):
    def __init__(self, cin, cout, reps, strides=1, start_with_relu=True, grow_first=True):
        super().__init__()
        reshaped = cout != cin or strides != 1
        self.skip = nn.Conv2d(cin, cout, 1, stride=strides, bias=False) if reshaped else None
        self.skipbn = nn.BatchNorm2d(cout) if reshaped else None
        rep = []
        unit = lambda i, o: rep.extend([nn.ReLU(inplace=True), SeparableConv2d(i, o, 3, 1, 1), nn.BatchNorm2d(o)])
        filters = cin
        if grow_first:
            unit(cin, cout)
            filters = cout
        for _ in range(reps - 1):
            unit(filters, filters)
        if not grow_first:
            unit(cin, cout)
        if start_with_relu:
            rep[0] = nn.ReLU(inplace=False)  # the block's input is also the skip
        else:
            rep = rep[1:]
        if strides != 1:
            rep.append(nn.MaxPool2d(3, strides, 1))
        self.rep = nn.Sequential(*rep)

    def forward(self, inp):
        x = self.rep(inp)
        skip = self.skipbn(self.skip(inp)) if self.skip is not None else inp
        x += skip
        return x


class FFD(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 32, 3, 2, 0, bias=False), nn.BatchNorm2d(32)
        self.conv2, self.bn2 = nn.Conv2d(32, 64, 3, bias=False), nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.entry = nn.Sequential(Block(64, 128, 2, 2, False, True), Block(128, 256, 2, 2), Block(256, 728, 2, 2), *[Block(728, 728, 3) for _ in range(4)])
        self.map = SeparableConv2d(728, 1, 3, 1, 1)
        self.middle = nn.Sequential(*[Block(728, 728, 3) for _ in range(4)], Block(728, 1024, 2, 2, True, False))
        self.conv3, self.bn3 = SeparableConv2d(1024, 1536, 3, 1, 1), nn.BatchNorm2d(1536)
        self.conv4, self.bn4 = SeparableConv2d(1536, 2048, 3, 1, 1), nn.BatchNorm2d(2048)
        self.last_linear = nn.Linear(2048, 2)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        x = self.entry(x)
        mask = torch.sigmoid(self.map(x))
        x = self.middle(x * mask)
        x = self.relu(self.bn3(self.conv3(x)))
        x = self.relu(self.bn4(self.conv4(x)))
        return self.last_linear(F.adaptive_avg_pool2d(x, 1).flatten(1)), mask

    def loss(self, out, label, seg):
        logits, mask = out
        target = F.adaptive_avg_pool2d(seg.eq(1).float().unsqueeze(1), mask.shape[2:])
        return F.cross_entropy(logits, label) + (mask - target).abs().mean()


# ---- MVSS-Net -------------------------------------------------------------------------------
class Bottleneck(nn.Module):
    def __init__(self, cin, planes, stride=1, dilation=1, downsample=None):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(cin, planes, 1, bias=False), nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, dilation, dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3, self.bn3 = nn.Conv2d(planes, planes * 4, 1, bias=False), nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += x if self.downsample is None else self.downsample(x)
        return self.relu(out)


def stage(cin, planes, blocks, stride, rates):
    down = nn.Sequential(nn.Conv2d(cin, planes * 4, 1, stride, bias=False), nn.BatchNorm2d(planes * 4)) if stride != 1 or cin != planes * 4 else None
    return nn.Sequential(Bottleneck(cin, planes, stride, rates[0], down), *[Bottleneck(planes * 4, planes, 1, r) for r in rates[1:blocks]])


class ResNet50(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64)
        self.relu, self.maxpool = nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)
        self.layer1 = stage(64, 64, 3, 1, [1] * 3)
        self.layer2 = stage(256, 128, 4, 2, [1] * 4)
        self.layer3 = stage(512, 256, 6, 2, [1] * 6)
        self.layer4 = stage(1024, 512, 3, 1, [1, 2, 4])

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        c1 = self.layer1(x)
        c2 = self.layer2(c1)
        c3 = self.layer3(c2)
        return c1, c2, c3, self.layer4(c3)


class ERB(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 1)
        self.conv2, self.bn = nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout)
        self.conv3 = nn.Conv2d(cout, cout, 3, padding=1)

    def forward(self, x, relu=True):
        x = self.conv1(x)
        res = self.conv3(F.relu(self.bn(self.conv2(x))))
        return F.relu(x + res) if relu else x + res


def sobel(cin):
    return nn.Sequential(nn.Conv2d(cin, 1, 3, padding=1, bias=False), nn.BatchNorm2d(1)), nn.Sequential(nn.Conv2d(cin, 1, 3, padding=1, bias=False), nn.BatchNorm2d(1))


def conv_bn_relu(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True))


class PAM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv_b, self.conv_c, self.conv_d = nn.Conv2d(c, c // 8, 1), nn.Conv2d(c, c // 8, 1), nn.Conv2d(c, c, 1)
        self.alpha = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        b, c, h, w = x.shape
        fb = self.conv_b(x).view(b, -1, h * w).permute(0, 2, 1)
        attention = torch.softmax(torch.bmm(fb, self.conv_c(x).view(b, -1, h * w)), dim=-1)
        fe = torch.bmm(self.conv_d(x).view(b, -1, h * w), attention.permute(0, 2, 1)).view(b, -1, h, w)
        return self.alpha * fe + x


class CAM(nn.Module):
    def __init__(self):
        super().__init__()
        self.beta = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        b, c, h, w = x.shape
        fa = x.view(b, -1, h * w)
        energy = torch.bmm(fa, fa.permute(0, 2, 1))
        attention = torch.softmax(torch.max(energy, dim=-1, keepdim=True)[0].expand_as(energy) - energy, dim=-1)
        return self.beta * torch.bmm(attention, fa).view(b, -1, h, w) + x


class DAHead(nn.Module):
    def __init__(self, cin, nclass):
        super().__init__()
        inter = cin // 4
        self.conv_p1, self.conv_c1 = conv_bn_relu(cin, inter), conv_bn_relu(cin, inter)
        self.pam, self.cam = PAM(inter), CAM()
        self.conv_p2, self.conv_c2 = conv_bn_relu(inter, inter), conv_bn_relu(inter, inter)
        self.out = nn.Sequential(nn.Dropout(0.1), nn.Conv2d(inter, nclass, 1))

    def forward(self, x):
        return self.out(self.conv_p2(self.pam(self.conv_p1(x))) + self.conv_c2(self.cam(self.conv_c1(x))))


class MVSS(nn.Module):
    def __init__(self):
        super().__init__()
        self.model, self.noise = ResNet50(), ResNet50()
        self.erb_db = nn.ModuleList([ERB(c, 1) for c in (256, 512, 1024, 2048)])
        self.erb_trans = nn.ModuleList([ERB(1, 1) for _ in range(3)])
        self.sobels = nn.ModuleList([nn.ModuleList(sobel(c)) for c in (256, 512, 1024, 2048)])
        self.bayar = nn.Parameter(torch.rand(1, 3, 24))
        self.head = DAHead(4096, 1)
        self.image_fc = nn.Linear(2048, 2)

    def forward(self, x):
        h, w = x.shape[2:]
        c = self.model(x)
        up = lambda t, s: F.interpolate(t, scale_factor=s, mode='bilinear', align_corners=True)
        edge_in = [torch.sigmoid(torch.sqrt(sx(ci) ** 2 + sy(ci) ** 2)) * ci for ci, (sx, sy) in zip(c, self.sobels)]
        res = self.erb_db[0](edge_in[0])
        res = self.erb_trans[0](res + up(self.erb_db[1](edge_in[1]), 2))
        res = self.erb_trans[1](res + up(self.erb_db[2](edge_in[2]), 4))
        edge = self.erb_trans[2](res + up(self.erb_db[3](edge_in[3]), 4), relu=False)
        k = self.bayar / self.bayar.sum(2, keepdim=True)
        kernel = torch.cat([k[:, :, :12], -torch.ones(1, 3, 1), k[:, :, 12:]], 2).reshape(3, 1, 5, 5)
        gray = (0.2989 * x[:, 2] + 0.587 * x[:, 1] + 0.114 * x[:, 0]).unsqueeze(1)
        noise = self.noise(F.conv2d(gray, kernel, padding=2))[3]
        z = F.interpolate(self.head(torch.cat([c[3], noise], 1)), size=(h, w), mode='bilinear', align_corners=True)
        return self.image_fc(F.adaptive_avg_pool2d(c[3], 1).flatten(1)), z, edge

    def loss(self, out, label, seg):
        logits, z, edge = out
        dice = lambda p, t: 1 - (2 * (p * t).sum() + 1e-6) / ((p * p).sum() + (t * t).sum() + 1e-6)
        fake = seg.eq(1).float().unsqueeze(1)
        small = F.interpolate(fake, size=edge.shape[2:], mode='nearest')
        band = F.max_pool2d(small, 3, 1, 1) + F.max_pool2d(-small, 3, 1, 1)
        return 0.16 * dice(torch.sigmoid(z), fake) + 0.04 * F.cross_entropy(logits, label) + 0.8 * dice(torch.sigmoid(edge), band)


# ---- Multi-task (ClassNSeg): nii-yamagishilab/ClassNSeg `model/ae.py` --------------------------
def cbr(cin, cout, stride, transposed=False):
    conv = nn.ConvTranspose2d(cin, cout, 3, stride, 1, stride - 1) if transposed else nn.Conv2d(cin, cout, 3, stride, 1)
    return [conv, nn.BatchNorm2d(cout), nn.ReLU()]


class Multitask(nn.Module):
    def __init__(self):
        super().__init__()
        plan = [(3, 8, 1), (8, 8, 2), (8, 16, 1), (16, 16, 2), (16, 32, 1), (32, 32, 2), (32, 64, 1), (64, 64, 2), (64, 128, 1)]
        self.encoder = nn.Sequential(*[m for c in plan for m in cbr(*c)])
        self.shared = nn.Sequential(*[m for c in [(128, 64, 1), (64, 64, 2), (64, 32, 1), (32, 32, 2)] for m in cbr(*c, True)])
        branch = lambda out: nn.Sequential(*[m for c in [(32, 16, 1), (16, 16, 2), (16, 8, 1), (8, 8, 2)] for m in cbr(*c, True)], nn.ConvTranspose2d(8, out, 3, 1, 1))
        self.segmenter, self.decoder = branch(2), branch(3)

    def forward(self, x):
        latent = self.encoder(x)
        zero, one = (latent[:, i * 64:(i + 1) * 64].abs().flatten(1).mean(1) for i in range(2))
        sel = (one >= zero).float()
        shared = self.shared((latent.view(x.shape[0], 2, 64, *latent.shape[2:]) * torch.stack([1 - sel, sel], 1).view(-1, 2, 1, 1, 1)).view_as(latent))
        return torch.stack([zero, one], 1), self.segmenter(shared), torch.tanh(self.decoder(shared)), x

    def loss(self, out, label, seg):
        logits, seg_logits, rec, x = out
        y = label.float()
        zero, one = logits[:, 0], logits[:, 1]
        act = ((one - y).abs() + (zero - (1 - y)).abs()).sum() / y.shape[0]
        return act + F.cross_entropy(seg_logits.softmax(1), seg) + (rec - x).pow(2).mean()


# ---- HP-FCN: lihaod/Deep_inpainting_localization `hp_fcn.py` (resnet_v2 small, NCHW) ---------
class BottleneckV2(nn.Module):
    def __init__(self, cin, depth, mid, stride):
        super().__init__()
        self.stride = stride
        self.preact = nn.BatchNorm2d(cin)
        self.shortcut = nn.Conv2d(cin, depth, 1, stride) if depth != cin else None
        self.conv1 = nn.Sequential(nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv2d(mid, mid, 3, stride, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU())
        self.conv3 = nn.Conv2d(mid, depth, 1)

    def forward(self, x):
        pre = F.relu(self.preact(x))
        short = self.shortcut(pre) if self.shortcut is not None else x if self.stride == 1 else x[:, :, ::self.stride, ::self.stride]
        return short + self.conv3(self.conv2(self.conv1(pre)))


class HPFCN(nn.Module):
    def __init__(self):
        super().__init__()
        self.filters = nn.ParameterList([nn.Parameter(torch.randn(3, 1, 3, 3)) for _ in range(3)])
        units = []
        for cin, base in ((9, 32), (128, 64), (256, 128), (512, 256)):
            units += [BottleneckV2(cin, base * 4, base, 1), BottleneckV2(base * 4, base * 4, base, 2)]
        self.resnet = nn.Sequential(*units)
        self.postnorm = nn.BatchNorm2d(1024)
        self.up1 = nn.Parameter(torch.randn(1024, 64, 8, 8) * 0.01)
        self.up2 = nn.Parameter(torch.randn(64, 4, 8, 8) * 0.01)
        self.post_norm = nn.BatchNorm2d(4)
        self.logits = nn.Conv2d(4, 2, 5, padding=2)
        self.image_fc = nn.Linear(1024, 2)

    def forward(self, x):
        r = torch.cat([F.conv2d(x, w, padding=1, groups=3) for w in self.filters], 1)
        b4 = self.resnet(r)
        img = self.image_fc(F.relu(self.postnorm(b4)).mean((2, 3)))
        up = F.conv_transpose2d(F.conv_transpose2d(b4, self.up1, stride=4, padding=2), self.up2, stride=4, padding=2)
        return img, self.logits(F.relu(self.post_norm(up)))

    def loss(self, out, label, seg):
        img, mask = out
        logp = F.log_softmax(F.interpolate(mask, size=seg.shape[1:], mode='bilinear', align_corners=False), 1)
        logp_y = logp.gather(1, seg.unsqueeze(1)).squeeze(1)
        return -((1 - logp_y.exp()) ** 2 * logp_y).mean() + F.cross_entropy(img, label)


def main():
    method, side, mode, batch, runs, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = {'ffd': FFD, 'mvss': MVSS, 'multitask': Multitask, 'hpfcn': HPFCN}[method]()
    x = torch.randn(batch, 3, side, side)
    if mode == 'forward':
        model.eval()

        def call():
            with torch.no_grad():
                model(x)
    else:
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=5e-4)
        label, seg = torch.tensor([0, 1])[:batch], torch.randint(0, 2, (batch, side, side))

        def call():
            loss = model.loss(model(x), label, seg)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    call()
    faults0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    seconds = []
    for _ in range(runs):
        t0 = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - t0)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({'seconds': seconds, 'minorFaultsPerCall': round((usage.ru_minflt - faults0) / runs), 'gcMsPerCall': None, 'maxRssMiB': usage.ru_maxrss / 1024, 'peakTensorMiB': None}))


if __name__ == '__main__':
    main()
