#!/usr/bin/env python3
"""Writes the official state-dict key lists of the benchmark's baselines (issue 16) as test data.

PyTorch is not installed where this runs, so each official module's __init__ is transcribed,
line by line and in its registration order, onto the tiny registration model below, which
follows torch.nn.Module.state_dict: per module its own parameters, then its persistent buffers,
then its children in registration order; parameter-less modules (ReLU, Softmax, Dropout, pools)
still take their nn.Sequential index. The sources read (with their commits) are named in each
output's provenance. Nothing here reads msccnet's own models.

usage: python3 scripts/baselines/official_keys.py test/models/official-keys
"""
import json
import os
import sys


class M:
    """A module: ordered parameters, buffers and children."""

    def __init__(self):
        self.params, self.buffers, self.children = [], [], []

    def p(self, name, shape):
        self.params.append((name, list(shape)))
        return self

    def b(self, name, shape):
        self.buffers.append((name, list(shape)))
        return self

    def c(self, name, child):
        self.children.append((name, child))
        return child

    def keys(self, prefix=''):
        out = [(prefix + n, s) for n, s in self.params] + [(prefix + n, s) for n, s in self.buffers]
        for n, ch in self.children:
            out += ch.keys(prefix + n + '.')
        return out


def leaf():  # ReLU, Softmax, Sigmoid, Tanh, Dropout, MaxPool2d, AvgPool2d, Upsample
    return M()


def conv(cin, cout, k, bias=True, groups=1):
    m = M().p('weight', [cout, cin // groups, k, k])
    return m.p('bias', [cout]) if bias else m


def convT(cin, cout, k, bias=True):  # nn.ConvTranspose2d weight is [in, out, k, k]
    m = M().p('weight', [cin, cout, k, k])
    return m.p('bias', [cout]) if bias else m


def bn(c):
    return M().p('weight', [c]).p('bias', [c]).b('running_mean', [c]).b('running_var', [c]).b('num_batches_tracked', [])


def linear(i, o, bias=True):
    m = M().p('weight', [o, i])
    return m.p('bias', [o]) if bias else m


def seq(*mods):
    m = M()
    for i, x in enumerate(mods):
        m.c(str(i), x)
    return m


# ---- nii-yamagishilab/ClassNSeg model/ae.py @ 1ba4675d519f7dc8e03a9c1b3ba2e7eb081d2565 ----------------
def classnseg_encoder(depth=3):
    e = M()
    chans = [(depth, 8, 1), (8, 8, 2), (8, 16, 1), (16, 16, 2), (16, 32, 1), (32, 32, 2), (32, 64, 1), (64, 64, 2), (64, 128, 1)]
    mods = []
    for cin, cout, _stride in chans:
        mods += [conv(cin, cout, 3), bn(cout), leaf()]
    e.c('encoder', seq(*mods))
    return e


def classnseg_decoder(depth=3):
    d = M()
    def unit(cin, cout):
        return [convT(cin, cout, 3), bn(cout), leaf()]
    d.c('shared', seq(*unit(128, 64), *unit(64, 64), *unit(64, 32), *unit(32, 32)))
    d.c('segmenter', seq(*unit(32, 16), *unit(16, 16), *unit(16, 8), *unit(8, 8), convT(8, 2, 3), leaf()))
    d.c('decoder', seq(*unit(32, 16), *unit(16, 16), *unit(16, 8), *unit(8, 8), convT(8, depth, 3), leaf()))
    return d


# ---- JStehouwer/FFD_CVPR2020 network/xception_map.py @ 8d831594ec541c5afeb7f4617311c2528ea92dab --------
def sepconv(cin, cout, k=1, bias=False):
    s = M()
    s.c('conv1', conv(cin, cin, k, bias=bias, groups=cin))
    s.c('pointwise', conv(cin, cout, 1, bias=bias))
    return s


def xblock(cin, cout, reps, strides=1, start_with_relu=True, grow_first=True):
    b = M()
    if cout != cin or strides != 1:
        b.c('skip', conv(cin, cout, 1, bias=False))
        b.c('skipbn', bn(cout))
    b.c('relu', leaf())
    rep = []
    filters = cin
    if grow_first:
        rep += [leaf(), sepconv(cin, cout, 3), bn(cout)]
        filters = cout
    for _ in range(reps - 1):
        rep += [leaf(), sepconv(filters, filters, 3), bn(filters)]
    if not grow_first:
        rep += [leaf(), sepconv(cin, cout, 3), bn(cout)]
    if not start_with_relu:
        rep = rep[1:]
    if strides != 1:
        rep.append(leaf())
    b.c('rep', seq(*rep))
    return b


def ffd_xception(num_classes=2):
    x = M()
    x.c('conv1', conv(3, 32, 3, bias=False)); x.c('bn1', bn(32)); x.c('relu', leaf())
    x.c('conv2', conv(32, 64, 3, bias=False)); x.c('bn2', bn(64))
    x.c('block1', xblock(64, 128, 2, 2, False, True))
    x.c('block2', xblock(128, 256, 2, 2, True, True))
    x.c('block3', xblock(256, 728, 2, 2, True, True))
    for i in range(4, 12):
        x.c('block%d' % i, xblock(728, 728, 3, 1, True, True))
    x.c('block12', xblock(728, 1024, 2, 2, True, False))
    x.c('conv3', sepconv(1024, 1536, 3)); x.c('bn3', bn(1536))
    x.c('conv4', sepconv(1536, 2048, 3)); x.c('bn4', bn(2048))
    # templates=0 is a plain attribute; sigmoid, softmax, avgpool2d have no state
    x.c('sigmoid', leaf())
    x.c('map', sepconv(728, 1, 3, bias=False))
    x.c('bnmap', bn(728))
    x.c('convmap', sepconv(728, 10, 3))
    x.c('convmap2', sepconv(10, 1, 3))
    x.c('linearmap', linear(3610, 10))
    x.c('softmax', leaf()); x.c('avgpool2d', leaf())
    x.c('map_conv1', xblock(728, 364, 2, 2, True, False))
    x.c('map_linear', linear(364, 10))
    x.c('last_linear', linear(2048, num_classes))  # set by xception() after construction
    return x


# ---- dong03/MVSS-Net models/mvssnet.py @ 18214be2ad794c928cf722b29f1644f91843b7a7 -----------------------
def bottleneck(inplanes, planes, stride=1, downsample=None):
    b = M()
    b.c('conv1', conv(inplanes, planes, 1, bias=False)); b.c('bn1', bn(planes))
    b.c('conv2', conv(planes, planes, 3, bias=False)); b.c('bn2', bn(planes))
    b.c('conv3', conv(planes, planes * 4, 1, bias=False)); b.c('bn3', bn(planes * 4))
    b.c('relu', leaf())
    if downsample is not None:
        b.c('downsample', downsample)
    return b


def mvss_resnet(layers=(3, 4, 6, 3), n_input=3, num_classes=1000):
    r = M()
    inplanes = [64]
    def make(planes, blocks, stride):
        down = None
        if stride != 1 or inplanes[0] != planes * 4:
            down = seq(conv(inplanes[0], planes * 4, 1, bias=False), bn(planes * 4))
        mods = [bottleneck(inplanes[0], planes, stride, down)]
        inplanes[0] = planes * 4
        for _ in range(1, blocks):
            mods.append(bottleneck(inplanes[0], planes))
        return seq(*mods)
    r.c('conv1', conv(n_input, 64, 7, bias=False)); r.c('bn1', bn(64)); r.c('relu', leaf()); r.c('maxpool', leaf())
    r.c('layer1', make(64, layers[0], 1))
    r.c('layer2', make(128, layers[1], 2))
    r.c('layer3', make(256, layers[2], 2))
    r.c('layer4', make(512, layers[3], 1))  # _make_deeplabv3_layer, stride 1
    r.c('avgpool', leaf())
    r.c('fc', linear(2048, num_classes))
    return r


def mvss_resnet50():
    w = M()
    w.c('model', mvss_resnet())
    w.c('relu', leaf())  # self.relu = self.model.relu; self.blocks is a plain list
    return w


def erb(cin, cout):
    e = M()
    e.c('conv1', conv(cin, cout, 1)); e.c('conv2', conv(cout, cout, 3)); e.c('relu', leaf())
    e.c('bn', bn(cout)); e.c('conv3', conv(cout, cout, 3))
    return e


def sobel(cin, cout=1):
    return seq(conv(cin, cout, 3, bias=False), bn(cout))


def da_head(cin, nclass):
    h = M()
    inter = cin // 4
    h.c('conv_p1', seq(conv(cin, inter, 3, bias=False), bn(inter), leaf()))
    h.c('conv_c1', seq(conv(cin, inter, 3, bias=False), bn(inter), leaf()))
    pam = h.c('pam', M())
    pam.c('conv_b', conv(inter, inter // 8, 1)); pam.c('conv_c', conv(inter, inter // 8, 1)); pam.c('conv_d', conv(inter, inter, 1))
    pam.p('alpha', [1]); pam.c('softmax', leaf())
    cam = h.c('cam', M())
    cam.p('beta', [1]); cam.c('softmax', leaf())
    h.c('conv_p2', seq(conv(inter, inter, 3, bias=False), bn(inter), leaf()))
    h.c('conv_c2', seq(conv(inter, inter, 3, bias=False), bn(inter), leaf()))
    h.c('out', seq(leaf(), conv(inter, nclass, 1)))
    return h


def mvss(nclass=1, sobel_on=True, constrain=True):
    m = mvss_resnet50()
    m.c('upsample', leaf()); m.c('upsample_4', leaf())
    for i, c in enumerate((256, 512, 1024, 2048), 1):
        m.c('erb_db_%d' % i, erb(c, nclass))
    for i in (1, 2, 3):
        m.c('erb_trans_%d' % i, erb(nclass, nclass))
    if sobel_on:
        for i, c in enumerate((256, 512, 1024, 2048), 1):
            m.c('sobel_x%d' % i, sobel(c)); m.c('sobel_y%d' % i, sobel(c))
    if constrain:
        m.c('noise_extractor', mvss_resnet50())
        m.c('constrain_conv', M().p('kernel', [1, 3, 24]))  # minus1 is a plain tensor set before Module.__init__
        m.c('head', da_head(4096, nclass))
    else:
        m.c('head', da_head(2048, nclass))
    return m


# ---- lihaod/Deep_inpainting_localization hp_fcn.py @ 6842ec5df6c9fcd539763071812a82205b2cefc7 ------------
# TensorFlow-slim: (variable name, TF shape) in creation order, each with the PyTorch-layout key and
# shape msccnet uses: weights HWIO → OIHW (depthwise HW,in,mult → in·mult,1,H,W; conv2d_transpose
# HW,out,in → in,out,H,W), biases → bias, BatchNorm gamma/beta/moving_mean/moving_variance →
# weight/bias/running_mean/running_var (PyTorch's num_batches_tracked has no TF counterpart).
def hpfcn_variables():
    rows = []
    def var(tf_name, tf_shape, key, shape):
        rows.append({'tf': tf_name, 'tf_shape': tf_shape, 'key': key, 'shape': shape})
    def tf_bn(scope, key, c):
        for tf_n, k in (('beta', 'bias'), ('gamma', 'weight'), ('moving_mean', 'running_mean'), ('moving_variance', 'running_var')):
            var('%s/%s' % (scope, tf_n), [c], '%s.%s' % (key, k), [c])
    def tf_conv(scope, key, k, cin, cout, normalized):
        var(scope + '/weights', [k, k, cin, cout], key + '.weight', [cout, cin, k, k])
        if normalized:
            tf_bn(scope + '/BatchNorm', key + '.BatchNorm', cout)
        else:
            var(scope + '/biases', [cout], key + '.bias', [cout])
    for i in range(3):  # filter_type d1, image_channel 3
        var('root_filter%d' % i, [3, 3, 3, 1], 'root_filter%d' % i, [3, 1, 3, 3])
    depth_in = 9
    for b, base in enumerate((32, 64, 128, 256), 1):
        for u in (1, 2):
            depth, scope = base * 4, 'resnet_small/block%d/unit_%d/bottleneck_v2' % (b, u)
            key = scope.replace('/', '.')
            tf_bn(scope + '/preact', key + '.preact', depth_in)
            if depth != depth_in:
                tf_conv(scope + '/shortcut', key + '.shortcut', 1, depth_in, depth, False)
            tf_conv(scope + '/conv1', key + '.conv1', 1, depth_in, base, True)
            tf_conv(scope + '/conv2', key + '.conv2', 3, base, base, True)
            tf_conv(scope + '/conv3', key + '.conv3', 1, base, depth, False)
            depth_in = depth
    tf_bn('resnet_small/postnorm', 'resnet_small.postnorm', 1024)
    var('bilinear_kernel0', [8, 8, 64, 1024], 'bilinear_kernel0', [1024, 64, 8, 8])
    var('bilinear_kernel1', [8, 8, 4, 64], 'bilinear_kernel1', [64, 4, 8, 8])
    tf_bn('post_norm', 'post_norm', 4)
    tf_conv('logits', 'logits', 5, 4, 2, False)
    return rows


def main(out_dir):
    how = ('transcribed by hand from the module definitions onto the registration model of '
           'scripts/baselines/official_keys.py (torch.nn.Module.state_dict order), since PyTorch cannot run here')
    outputs = {
        'multitask': {
            'provenance': {'repo': 'nii-yamagishilab/ClassNSeg', 'commit': '1ba4675d519f7dc8e03a9c1b3ba2e7eb081d2565', 'file': 'model/ae.py',
                           'config': 'Encoder(3) saved as encoder_N.pt, Decoder(3) as decoder_N.pt (train.py); listed here under the prefixes encoder. and decoder.',
                           'how': how},
            'keys': classnseg_encoder().keys('encoder.') + classnseg_decoder().keys('decoder.'),
        },
        'ffd': {
            'provenance': {'repo': 'JStehouwer/FFD_CVPR2020', 'commit': '8d831594ec541c5afeb7f4617311c2528ea92dab', 'file': 'network/xception_map.py',
                           'config': 'xception(templates, num_classes=2) as in train_map_supervised.py (last_linear = Linear(2048, 2))', 'how': how},
            'keys': ffd_xception().keys(),
        },
        'mvss': {
            'provenance': {'repo': 'dong03/MVSS-Net', 'commit': '18214be2ad794c928cf722b29f1644f91843b7a7', 'file': 'models/mvssnet.py',
                           'config': 'get_mvss(backbone="resnet50", nclass=1, sobel=True, constrain=True, n_input=3), the released checkpoints', 'how': how},
            'keys': mvss().keys(),
        },
        'hpfcn': {
            'provenance': {'repo': 'lihaod/Deep_inpainting_localization', 'commit': '6842ec5df6c9fcd539763071812a82205b2cefc7', 'file': 'hp_fcn.py',
                           'config': 'model(filter_type="d1", filter_trainable=True), tf.contrib.slim resnet_v2 (resnet_small, include_root_block=False); '
                                     'global_step and optimizer slots omitted', 'how': how.replace('torch.nn.Module.state_dict order', 'TF variable creation order')},
            'variables': hpfcn_variables(),
        },
    }
    os.makedirs(out_dir, exist_ok=True)
    for name, data in outputs.items():
        if 'keys' in data:
            data['keys'] = [{'key': k, 'shape': s} for k, s in data['keys']]
        path = os.path.join(out_dir, name + '.json')
        tmp = path + '.tmp'
        with open(tmp, 'w') as f:
            rows = data.get('keys', data.get('variables'))
            listed = 'keys' if 'keys' in data else 'variables'
            f.write('{"provenance": %s,\n"%s": [\n' % (json.dumps(data['provenance']), listed))
            f.write(',\n'.join(json.dumps(r) for r in rows))
            f.write('\n]}\n')
        os.replace(tmp, path)
        print(path, len(data.get('keys', data.get('variables', []))))


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else 'test/models/official-keys')
