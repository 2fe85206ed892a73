pragma circom 2.1.0;

include "circomlib/circuits/binsum.circom";
include "circomlib/circuits/sha256/constants.circom";
include "circomlib/circuits/sha256/ch.circom";
include "circomlib/circuits/sha256/maj.circom";
include "circomlib/circuits/sha256/sigma.circom";
include "circomlib/circuits/sha256/sigmaplus.circom";

/// Proves: out = the SHA-256 compression of the 512-bit block `inp` (big-endian bits, as circomlib's
/// Sha256compression takes it) under the chaining value `hin` (eight words, each least significant bit
/// first) as eight words, each most significant bit first: circomlib's Sha256compression, bit for bit,
/// with each round's two new words computed by one sum each,
///   e' = d + h + Sigma1(e) + Ch(e, f, g) + K_t + W_t            (6 words: 35 bits, the low 32 kept)
///   a' = h + Sigma1(e) + Ch(e, f, g) + K_t + W_t + Sigma0(a) + Maj(a, b, c)   (7 words: 35 bits)
/// where circomlib forms T1 and T2 and then adds them into a' and d into e' (four sums: 35 + 33 + 33 + 33
/// bits range-checked per round; here 35 + 35, 64 constraints fewer a round, 4,096 a block). A sum of k words below 2^32 is below k * 2^32 <= 2^35, so its
/// 35 boolean bits are unique and the low 32 are the sum mod 2^32, as SHA-256 adds.
template Sha256CompressionMerged() {
    signal input hin[256];
    signal input inp[512];
    signal output out[256];

    signal w[64][32];
    signal a[65][32];
    signal b[65][32];
    signal c[65][32];
    signal d[65][32];
    signal e[65][32];
    signal f[65][32];
    signal g[65][32];
    signal h[65][32];

    // the message schedule, as circomlib computes it: W_t = sigma1(W_t-2) + W_t-7 + sigma0(W_t-15) + W_t-16
    component sigmaPlus[48];
    for (var t = 0; t < 64; t++) {
        if (t < 16) {
            for (var k = 0; k < 32; k++) w[t][k] <== inp[t * 32 + 31 - k];
        } else {
            sigmaPlus[t - 16] = SigmaPlus();
            sigmaPlus[t - 16].in2 <== w[t - 2];
            sigmaPlus[t - 16].in7 <== w[t - 7];
            sigmaPlus[t - 16].in15 <== w[t - 15];
            sigmaPlus[t - 16].in16 <== w[t - 16];
            w[t] <== sigmaPlus[t - 16].out;
        }
    }

    for (var k = 0; k < 32; k++) {
        a[0][k] <== hin[k];
        b[0][k] <== hin[32 + k];
        c[0][k] <== hin[64 + k];
        d[0][k] <== hin[96 + k];
        e[0][k] <== hin[128 + k];
        f[0][k] <== hin[160 + k];
        g[0][k] <== hin[192 + k];
        h[0][k] <== hin[224 + k];
    }

    component ct[64];
    component bigSigma1[64];
    component bigSigma0[64];
    component ch[64];
    component maj[64];
    component sumE[64]; // inspect: out[32..34] are the carries: range-checked as bits, dropped (mod 2^32)
    component sumA[64]; // inspect: out[32..34] are the carries: range-checked as bits, dropped (mod 2^32)
    for (var t = 0; t < 64; t++) {
        ct[t] = K(t);
        bigSigma1[t] = BigSigma(6, 11, 25);
        bigSigma1[t].in <== e[t];
        bigSigma0[t] = BigSigma(2, 13, 22);
        bigSigma0[t].in <== a[t];
        ch[t] = Ch_t(32);
        ch[t].a <== e[t];
        ch[t].b <== f[t];
        ch[t].c <== g[t];
        maj[t] = Maj_t(32);
        maj[t].a <== a[t];
        maj[t].b <== b[t];
        maj[t].c <== c[t];

        sumE[t] = BinSum(32, 6);
        sumA[t] = BinSum(32, 7);
        for (var k = 0; k < 32; k++) {
            sumE[t].in[0][k] <== d[t][k];
            sumE[t].in[1][k] <== h[t][k];
            sumE[t].in[2][k] <== bigSigma1[t].out[k];
            sumE[t].in[3][k] <== ch[t].out[k];
            sumE[t].in[4][k] <== ct[t].out[k];
            sumE[t].in[5][k] <== w[t][k];
            sumA[t].in[0][k] <== h[t][k];
            sumA[t].in[1][k] <== bigSigma1[t].out[k];
            sumA[t].in[2][k] <== ch[t].out[k];
            sumA[t].in[3][k] <== ct[t].out[k];
            sumA[t].in[4][k] <== w[t][k];
            sumA[t].in[5][k] <== bigSigma0[t].out[k];
            sumA[t].in[6][k] <== maj[t].out[k];
        }
        for (var k = 0; k < 32; k++) {
            h[t + 1][k] <== g[t][k];
            g[t + 1][k] <== f[t][k];
            f[t + 1][k] <== e[t][k];
            e[t + 1][k] <== sumE[t].out[k];
            d[t + 1][k] <== c[t][k];
            c[t + 1][k] <== b[t][k];
            b[t + 1][k] <== a[t][k];
            a[t + 1][k] <== sumA[t].out[k];
        }
    }

    // out = hin + (a..h after 64 rounds), word by word mod 2^32, each word most significant bit first
    component fsum[8]; // inspect: out[32] is the carry: range-checked as a bit, dropped (mod 2^32)
    for (var j = 0; j < 8; j++) {
        fsum[j] = BinSum(32, 2);
        for (var k = 0; k < 32; k++) fsum[j].in[0][k] <== hin[32 * j + k];
    }
    for (var k = 0; k < 32; k++) {
        fsum[0].in[1][k] <== a[64][k];
        fsum[1].in[1][k] <== b[64][k];
        fsum[2].in[1][k] <== c[64][k];
        fsum[3].in[1][k] <== d[64][k];
        fsum[4].in[1][k] <== e[64][k];
        fsum[5].in[1][k] <== f[64][k];
        fsum[6].in[1][k] <== g[64][k];
        fsum[7].in[1][k] <== h[64][k];
    }
    for (var j = 0; j < 8; j++) {
        for (var k = 0; k < 32; k++) out[32 * j + 31 - k] <== fsum[j].out[k];
    }
}

/// Proves: out = SHA-256(in), the `nBits`-bit message `in` (big-endian bits) padded as FIPS 180-4 pads it,
/// out the 256-bit digest, big-endian: circomlib's Sha256(nBits) with its compression replaced by
/// Sha256CompressionMerged (the same function, 4,096 constraints fewer per 512-bit block: 25,629 for one block where circomlib's
/// Sha256 takes 29,725).
template Sha256Merged(nBits) {
    signal input in[nBits];
    signal output out[256];

    var nBlocks = ((nBits + 64) \ 512) + 1;
    signal paddedIn[nBlocks * 512];
    for (var k = 0; k < nBits; k++) paddedIn[k] <== in[k];
    paddedIn[nBits] <== 1;
    for (var k = nBits + 1; k < nBlocks * 512 - 64; k++) paddedIn[k] <== 0;
    for (var k = 0; k < 64; k++) paddedIn[nBlocks * 512 - k - 1] <== (nBits >> k) & 1;

    component iv[8];
    for (var j = 0; j < 8; j++) iv[j] = H(j);
    component block[nBlocks];
    for (var i = 0; i < nBlocks; i++) {
        block[i] = Sha256CompressionMerged();
        for (var j = 0; j < 8; j++) {
            for (var k = 0; k < 32; k++) {
                if (i == 0) {
                    block[i].hin[32 * j + k] <== iv[j].out[k];
                } else {
                    block[i].hin[32 * j + k] <== block[i - 1].out[32 * j + 31 - k];
                }
            }
        }
        for (var k = 0; k < 512; k++) block[i].inp[k] <== paddedIn[i * 512 + k];
    }
    out <== block[nBlocks - 1].out;
}
