# Lane-level numpy emulation of flash_mha_kernel (native/src/cuda/kernels/attention_flash.cu), for
# checking changes to its index arithmetic on a machine without a GPU. Every shared-memory offset,
# ldmatrix (plain and .trans) and mma.sync m16n8k16 fragment, quad shuffle, the lazy rescale, the
# key-half merge and the shared-memory output tile are transcribed from the CUDA one to one; q and P
# are rounded as the kernel rounds them (fp16, or bf16 with BF16=1), products accumulate in fp64.
# The output is compared with an fp64 reference of MODEL.md's attention (2 heads of 64).
# It is a transcription, not the kernel: keep it in step with attention_flash.cu, and trust the
# GPU bench (encoder_attention_bench.cu) over it.
# Run: python3 native/bench/flash_mha_emulation.py [seed] [qk_range] [len,len,...]
#   e.g. BF16=1 python3 native/bench/flash_mha_emulation.py 2 4.0 130,190,257,300
# Prints the NaN count (unwritten outputs), the relative L2 error, and how often the rescale branch
# and the masked tile ran.
import os
import sys

import numpy as np

kD, kRows, kKeys, kHalf, kThreads, kLd = 64, 64, 64, 32, 128, 72
kSlack, kNoMax = 8.0, -1e30
lane = np.arange(32)
def f16(x):
    x = np.asarray(x, np.float32)
    if os.environ.get('BF16'):
        b = x.view(np.uint32).astype(np.uint64)
        b = ((b + 0x7FFF + ((b >> 16) & 1)) >> 16) << 16
        return b.astype(np.uint32).view(np.float32).reshape(x.shape)
    return x.astype(np.float16).astype(np.float32)

def ex2(x):
    with np.errstate(over='ignore', under='ignore', invalid='ignore'):
        y = np.exp2(np.asarray(x, np.float64)).astype(np.float32)
    y[y < 2.0**-126] = 0.0  # ftz
    return y

def ldsm(smem, offs, trans=False):
    # offs[lane]: flat element offset of the row address lane supplies; returns 4 regs [32,2]
    regs = []
    for i in range(4):
        r = np.zeros((32, 2), np.float32)
        for t in range(32):
            for j in range(2):
                if not trans:
                    r[t, j] = smem[offs[8 * i + t // 4] + 2 * (t % 4) + j]
                else:
                    r[t, j] = smem[offs[8 * i + 2 * (t % 4) + j] + t // 4]
        regs.append(r)
    return regs

def mma(c, a, b0, b1):
    A = np.zeros((16, 16), np.float32); B = np.zeros((16, 8), np.float32)
    for t in range(32):
        g, cc = t // 4, t % 4
        for j in range(2):
            A[g, 2*cc+j] = a[0][t, j]; A[g+8, 2*cc+j] = a[1][t, j]
            A[g, 2*cc+8+j] = a[2][t, j]; A[g+8, 2*cc+8+j] = a[3][t, j]
            B[2*cc+j, g] = b0[t, j]; B[2*cc+8+j, g] = b1[t, j]
    C = A.astype(np.float64) @ B.astype(np.float64)
    for t in range(32):
        g, cc = t // 4, t % 4
        for j in range(2):
            c[t, j] += C[g, 2*cc+j]; c[t, 2+j] += C[g+8, 2*cc+j]

def pack(lo, hi):
    return np.stack([f16(lo), f16(hi)], axis=1)

def quad_max(x):
    x = np.maximum(x, x[lane ^ 1]); return np.maximum(x, x[lane ^ 2])
def quad_sum(x):
    x = x + x[lane ^ 1]; return x + x[lane ^ 2]

def block(qkv, bias, ctx, offsets, heads, bx, h, b, scale_log2):
    start = offsets[b]; length = offsets[b+1] - start; q0 = bx * kRows
    if q0 >= length: return
    hidden = heads * kD; ld = 3 * hidden
    smem = np.zeros(kRows * kLd + 4 * kKeys * kLd, np.float32)
    SQ, SKV = 0, kRows * kLd
    qrow = lambda r: qkv[start + r, h*kD:(h+1)*kD]
    krow = lambda r: qkv[start + r, hidden + h*kD: hidden + (h+1)*kD]
    vrow = lambda r: qkv[start + r, 2*hidden + h*kD: 2*hidden + (h+1)*kD]
    def load_kv(tile):
        sk = SKV + (tile & 1) * 2 * kKeys * kLd; sv = sk + kKeys * kLd; k0 = tile * kKeys
        for r in range(kKeys):
            valid = k0 + r < length
            smem[sk + r*kLd: sk + r*kLd + kD] = krow(k0 + r) if valid else 0
            smem[sv + r*kLd: sv + r*kLd + kD] = vrow(k0 + r) if valid else 0
    tiles = (length + kKeys - 1) // kKeys
    load_kv(0)
    for r in range(kRows):
        smem[SQ + r*kLd: SQ + r*kLd + kD] = f16(qrow(q0 + r) + bias[h*kD:(h+1)*kD]) if q0 + r < length else 0
    W = []
    for warp in range(4):
        group, half = warp & 1, warp >> 1
        qf = [[ldsm(smem, SQ + (group*32 + mt*16 + (lane & 15)) * kLd + kk*16 + (lane >> 4) * 8) for kk in range(4)] for mt in range(2)]
        W.append(dict(group=group, half=half, qf=qf, active=q0 + group*32 < length,
                      o=np.zeros((2, 8, 32, 4), np.float32), m=np.full((2, 2, 32), kNoMax, np.float32),
                      l=np.zeros((2, 2, 32), np.float32)))
    stats = dict(raises=0, masked=0)
    for tile in range(tiles):
        cur = smem.copy()  # what this tile reads (the next tile's copy lands in the other stage)
        if tile + 1 < tiles: load_kv(tile + 1)
        for w in W:
            s_k = SKV + (tile & 1) * 2 * kKeys * kLd + w['half'] * kHalf * kLd
            s_v = s_k + kKeys * kLd
            key0 = tile * kKeys + w['half'] * kHalf
            if not (w['active'] and key0 < length): continue
            s = np.zeros((2, 4, 32, 4), np.float32)
            for kk in range(4):
                for nb in range(2):
                    kf = ldsm(cur, s_k + (nb*16 + (lane & 7) + (lane >> 4) * 8) * kLd + kk*16 + ((lane >> 3) & 1) * 8)
                    for mt in range(2):
                        mma(s[mt, 2*nb], w['qf'][mt][kk], kf[0], kf[1]); mma(s[mt, 2*nb+1], w['qf'][mt][kk], kf[2], kf[3])
            mask = key0 + kHalf > length
            stats['masked'] += int(mask)
            tmax = np.full((2, 2, 32), -np.inf, np.float32); grows = np.zeros(32, bool)
            for mt in range(2):
                for nt in range(4):
                    for e in range(4):
                        if mask:
                            s[mt, nt, key0 + nt*8 + 2*(lane & 3) + (e & 1) >= length, e] = -np.inf
                        tmax[mt, e >> 1] = np.maximum(tmax[mt, e >> 1], s[mt, nt, :, e])
                for r in range(2):
                    tmax[mt, r] = quad_max(tmax[mt, r]) * np.float32(scale_log2)
                    grows |= tmax[mt, r] > w['m'][mt, r] + kSlack
            if grows.any():
                stats['raises'] += 1
                for mt in range(2):
                    for r in range(2):
                        nm = np.maximum(w['m'][mt, r], tmax[mt, r]); corr = ex2(w['m'][mt, r] - nm)
                        w['m'][mt, r] = nm; w['l'][mt, r] *= corr
                        w['o'][mt, :, :, 2*r] *= corr; w['o'][mt, :, :, 2*r+1] *= corr
            for mt in range(2):
                for nt in range(4):
                    for e in range(4):
                        with np.errstate(invalid='ignore'):
                            p = ex2(s[mt, nt, :, e] * np.float32(scale_log2) - w['m'][mt, e >> 1])
                        s[mt, nt, :, e] = p; w['l'][mt, e >> 1] += p
            for kk in range(2):
                pf = [[pack(s[mt, 2*kk, :, 0], s[mt, 2*kk, :, 1]), pack(s[mt, 2*kk, :, 2], s[mt, 2*kk, :, 3]),
                       pack(s[mt, 2*kk+1, :, 0], s[mt, 2*kk+1, :, 1]), pack(s[mt, 2*kk+1, :, 2], s[mt, 2*kk+1, :, 3])] for mt in range(2)]
                for db in range(4):
                    vf = ldsm(cur, s_v + (kk*16 + (lane & 7) + ((lane >> 3) & 1) * 8) * kLd + db*16 + (lane >> 4) * 8, trans=True)
                    for mt in range(2):
                        mma(w['o'][mt, 2*db], pf[mt], vf[0], vf[1]); mma(w['o'][mt, 2*db+1], pf[mt], vf[2], vf[3])
    for w in W:
        for mt in range(2):
            for r in range(2): w['l'][mt, r] = quad_sum(w['l'][mt, r])
    ex = np.zeros(2 * 72 * 32, np.float32)
    for w in W:
        if w['active'] and w['half'] == 1:
            E = w['group'] * 72 * 32
            for mt in range(2):
                for i in range(8):
                    for e in range(4): ex[E + ((mt*8 + i)*4 + e)*32 + lane] = w['o'][mt, i, :, e]
                for r in range(2):
                    ex[E + (64 + mt*2 + r)*32 + lane] = w['m'][mt, r]; ex[E + (68 + mt*2 + r)*32 + lane] = w['l'][mt, r]
    for w in W:
        if w['active'] and w['half'] == 0:
            E = w['group'] * 72 * 32; out = SQ + w['group'] * 32 * kLd
            vb = bias[2*hidden + h*kD: 2*hidden + (h+1)*kD]
            for mt in range(2):
                for r in range(2):
                    om = ex[E + (64 + mt*2 + r)*32 + lane]; os_ = ex[E + (68 + mt*2 + r)*32 + lane]
                    mx = np.maximum(w['m'][mt, r], om); mine = ex2(w['m'][mt, r] - mx); theirs = ex2(om - mx)
                    inv = 1.0 / (w['l'][mt, r] * mine + os_ * theirs)
                    rows = mt*16 + (lane >> 2) + 8*r
                    for i in range(8):
                        col = i*8 + 2*(lane & 3)
                        for e in range(2):
                            other = ex[E + ((mt*8 + i)*4 + 2*r + e)*32 + lane]
                            val = w['o'][mt, i, :, 2*r+e] * (mine*inv) + other * (theirs*inv) + vb[col + e]
                            smem[out + rows*kLd + col + e] = f16(val)
    nrows = min(kRows, length - q0)
    for r in range(nrows):
        ctx[start + q0 + r, h*kD:(h+1)*kD] = smem[SQ + r*kLd: SQ + r*kLd + kD]
    return stats

def reference(qkv, bias, offsets, heads):
    hidden = heads * kD; out = np.zeros((offsets[-1], hidden))
    q = qkv[:, :hidden].astype(np.float64) + bias[:hidden]; k = qkv[:, hidden:2*hidden].astype(np.float64) + bias[hidden:2*hidden]
    v = qkv[:, 2*hidden:].astype(np.float64) + bias[2*hidden:]
    for b in range(len(offsets) - 1):
        s0, s1 = offsets[b], offsets[b+1]
        for h in range(heads):
            sl = slice(h*kD, (h+1)*kD)
            sc = q[s0:s1, sl] @ k[s0:s1, sl].T / 8.0
            p = np.exp(sc - sc.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
            out[s0:s1, sl] = p @ v[s0:s1, sl]
    return out

rng = np.random.default_rng(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
qk_range = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
lengths = [int(x) for x in sys.argv[3].split(',')] if len(sys.argv) > 3 else [1, 31, 33, 64, 65, 97, 130]
heads = 2; hidden = heads * kD
offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(int)
T = offsets[-1]
qkv = f16(rng.uniform(-1, 1, (T, 3 * hidden)) * np.concatenate([np.full(2*hidden, qk_range), np.ones(hidden)]))
bias = f16(rng.uniform(-0.5, 0.5, 3 * hidden))
ctx = np.full((T, hidden), np.nan, np.float32)
seq = max(lengths); tot = dict(raises=0, masked=0)
for b in range(len(lengths)):
    for h in range(heads):
        for bx in range((seq + kRows - 1) // kRows):
            st = block(qkv, bias, ctx, offsets, heads, bx, h, b, 1.4426950408889634 / 8.0)
            if st:
                for k_ in tot: tot[k_] += st[k_]
ref = reference(qkv, bias, offsets, heads)
err = np.sqrt(np.nansum((ctx - ref) ** 2) / np.sum(ref ** 2))
print('lengths', lengths, 'nan', int(np.isnan(ctx).sum()), 'rel_l2 %.3e' % err, tot)
