# High-precision (mpmath, 50 digits) Black-Scholes values for the corners where a float64 reference
# cannot resolve 1e-6 * S (K/S up to 2^34). Output: highPrecision.json, values as price * 2^64 in
# 1e-8 quote units (the fixed-point output's unit), rounded to nearest.
# Run: python3 test/sequencer/derivatives/blackScholes/genHighPrecision.py > test/sequencer/derivatives/blackScholes/highPrecision.json
import json, mpmath as mp
mp.mp.dps = 50
Y = 31536000
def bs(is_call, s, k, vol_ppm, t, r_ppm):
    S, K = mp.mpf(s), mp.mpf(k)
    if t == 0:
        return max(S - K if is_call else K - S, 0)
    sig, T, r = mp.mpf(vol_ppm) / 10**6, mp.mpf(t) / Y, mp.mpf(r_ppm) / 10**6
    sd = sig * mp.sqrt(T)
    d1 = (mp.log(S / K) + (r + sig * sig / 2) * T) / sd
    d2 = d1 - sd
    D = mp.exp(-r * T)
    return S * mp.ncdf(d1) - K * D * mp.ncdf(d2) if is_call else K * D * mp.ncdf(-d2) - S * mp.ncdf(-d1)
cases = []
for is_call in (True, False):
    for s, k in [(65536, 2**50 - 1), (2**50 - 1, 65536), (189010, 877566871390551), (100000, 10**15), (10**15, 10**5), (10**8, 10**8 + 1)]:
        for vol, t, r in [(5000000, 63072000, 200000), (151801, 2747652, 164603), (8192, 1, -50000), (1000000, 31536000, 0)]:
            v = bs(is_call, s, k, vol, t, r)
            cases.append({"isCall": is_call, "spot": str(s), "strike": str(k), "volPpm": str(vol), "timeSeconds": str(t), "ratePpm": str(r),
                          "priceQ64": str(int(mp.nint(v * 2**64)))})
print(json.dumps(cases, indent=1))
