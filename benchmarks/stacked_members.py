"""Would stacking members help? M models (seeds or study points) as one network — every weight
[M, …], batched matrix products (baddbmm), per-member batch norms and losses summed — one step of
the stack at the demo shape (225 stocks × T 10 × F 6, H 32, K 64) divided by M, against a plain
nn.GRU + Linear step (forward, backward, clip, Adam), interleaved, medians of 9 rounds.

A measurement of the idea, not training code: autograd through plain ops (it keeps the gates,
fine at this size), random data, the same input for every step. CPU time with 1 thread, wall
time with more.

    python benchmarks/stacked_members.py 3          # M = 3 (the seeds of one model), 1 thread
    python benchmarks/stacked_members.py 3 2        # 2 threads
"""
import time, statistics, sys, torch
torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
M = int(sys.argv[1]); n, T, F, H, K = 225, 10, 6, 32, 64
g = torch.Generator().manual_seed(0)
def P(*s): return torch.nn.Parameter(torch.randn(*s, generator=g) * 0.1)
w_ih, w_hh, b_ih, b_hh, w_o, b_o = P(M, F, 3*H), P(M, H, 3*H), P(M, 1, 3*H), P(M, 1, 3*H), P(M, H, K), P(M, 1, K)
params = [w_ih, w_hh, b_ih, b_hh, w_o, b_o]
opt = torch.optim.Adam(params, 1e-3)
x = torch.randn(M, T, n, F); y = torch.randn(M, n, 1); y = (y - y.mean(1, keepdim=True)) / y.std(1, keepdim=True, unbiased=False)
def bn(v): return (v - v.mean(1, keepdim=True)) / torch.sqrt(v.var(1, unbiased=False, keepdim=True) + 1e-12)
def step():
    gi = torch.baddbmm(b_ih, x.reshape(M, T * n, F), w_ih).view(M, T, n, 3 * H)
    h = x.new_zeros(M, n, H)
    for t in range(T):
        gh = torch.baddbmm(b_hh, h, w_hh)
        rz = torch.sigmoid(gi[:, t, :, :2*H] + gh[..., :2*H])
        r, z = rz[..., :H], rz[..., H:]
        c = torch.tanh(gi[:, t, :, 2*H:] + r * gh[..., 2*H:])
        h = c + z * (h - c)
    u = bn(torch.baddbmm(b_o, torch.nn.functional.dropout(h, 0.1), w_o))
    p = bn(u.mean(2, keepdim=True))
    gram = u.transpose(1, 2) @ u
    loss = ((p - y) ** 2).mean(dim=(1, 2)) + 20.0 / (n * K * K) * torch.linalg.matrix_norm(gram)
    opt.zero_grad(set_to_none=True)
    loss.sum().backward()
    torch.nn.utils.clip_grad_value_(params, 3.0)
    opt.step()
gru = torch.nn.GRU(F, H, batch_first=True); head = torch.nn.Linear(H, K)
popt = torch.optim.Adam(list(gru.parameters()) + list(head.parameters()), 1e-3)
xp = torch.randn(n, T, F); yp = torch.randn(n)
def plain():
    out = head(gru(xp)[0][:, -1]); loss = ((out - yp[:, None]) ** 2).mean()
    popt.zero_grad(set_to_none=True); loss.backward()
    torch.nn.utils.clip_grad_value_(list(gru.parameters()) + list(head.parameters()), 3.0); popt.step()
clock = time.process_time if torch.get_num_threads() == 1 else time.perf_counter
def t(f, k=30):
    f(); s = clock()
    for _ in range(k): f()
    return (clock() - s) / k * 1e3
r = {"plain": [], "stack": []}
for _ in range(9):
    r["plain"].append(t(plain)); r["stack"].append(t(step))
pm, sm = statistics.median(r["plain"]), statistics.median(r["stack"])
print(f"M={M}, {torch.get_num_threads()} threads: plain {pm:.2f} ms, stack {sm:.2f} ms = {sm/M:.2f} ms per member -> {pm/(sm/M):.2f}x")
