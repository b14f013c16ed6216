//! Winograd convolution for stride-1 square kernels (Lavin & Gray 2016): F(4x4, 3x3) and
//! F(2x2, 5x5) on 6x6 transform tiles, F(4x4, 5x5) (and, when asked, F(6x6, 3x3)) on 8x8 ones;
//! [`plan`] chooses per layer.
//!
//! Per output tile of m x m pixels and per (output, input) channel pair, direct convolution does
//! m²·r² multiplies; Winograd does α² = (m + r − 1)² in the gemms: 36 against 144 for F(4, 3)
//! (4x fewer), 36 against 100 for F(2, 5) (2.8x fewer), 64 against 400 for F(4, 5) (6.25x
//! fewer). The transforms are linear and cost O(α³) additions per tile and channel, not per
//! channel pair.
//!
//! The layer is `Y = Aᵀ[(G w Gᵀ) ⊙ (Bᵀ d B)]A` per tile, summed over input channels: the sum is
//! α² independent gemms `M[ξ] = U[ξ]·V[ξ]` (`U[ξ]` `[O, C]`, `V[ξ]` `[C, tiles]`). The backward
//! pass is that function's adjoint, not a second algorithm: `dM = A dY Aᵀ`, `dU[ξ] = dM[ξ]·V[ξ]ᵀ`,
//! `dw = Gᵀ dU G`, `dV[ξ] = U[ξ]ᵀ·dM[ξ]`, `dd = B dV Bᵀ` added into the input's gradient. So the
//! gradients are exactly those of the forward, and in exact arithmetic equal the direct ones.
//!
//! The matrices are built from interpolation points (Toom-Cook): for the points p_0..p_{α-2}
//! and ∞, `G` and `Aᵀ` are Vandermonde rows and `Bᵀ` is the transposed inverse of the α x α one.
//! Points 0, ±1, ±2 for α = 6, and ±1/2 besides for α = 8 (Lavin's): with them `Bᵀ` has small
//! integer entries (see [`BT6`], [`BT8`]).
//!
//! Precision (the tests measure it against f64 direct convolution, 16-64 channels, uniform
//! data): max error relative to the output's largest value ~4e-6 for F(2, 5) and ~5e-6 for
//! F(4, 3), ~7e-6 for F(4, 5) and ~1e-5 for F(6, 3), against ~5e-7 for the direct f32 path.
//! `AEKIT_WINOGRAD=0` turns Winograd off (direct im2col convolution for every layer), as
//! `AEKIT_FUSED=0` turns every fast path off; `AEKIT_WINOGRAD_TILE=6|8` picks the tile sizes
//! ([`large_tiles`]).

use std::borrow::Cow;
use std::mem::MaybeUninit;
use std::sync::OnceLock;

use gemm::Parallelism;
use rayon::prelude::*;

use super::conv_kernels::{gemm_into, recycle, scratch, zeroed, ConvGrads, Geom, Wanted, M};
use super::lanes::{load, simd, store, Simd};
use super::transpose::{to_planes, transpose};

/// The largest transform: 8x8, for F(4x4, 5x5) and F(6x6, 3x3).
const AMAX: usize = 8;

/// The transform matrices of F(m, r), α = m + r − 1 (6 or 8), in f32.
pub(crate) struct Transform {
    m: usize,
    r: usize,
    alpha: usize,
    /// `Aᵀ`: m x α (rows beyond m, columns beyond α unused).
    at: [[f32; AMAX]; AMAX],
    /// `G`: α x r (columns beyond r unused).
    g: [[f32; AMAX]; AMAX],
}

/// `Bᵀ` for α = 6 at the points 0, 1, −1, 2, −2 and ∞ (Lavin & Gray's F(4x4, 3x3) matrix): it
/// depends only on the points, so F(2x2, 5x5) shares it. Row j holds the coefficients of
/// `Π(x − p_i) / (x − p_j)` (the ∞ row: `Π(x − p_i)`); the scale Toom-Cook puts on each row is
/// carried by `G` instead, so the input transforms, the hot ones, add small integer multiples.
/// A constant, so that the compiler drops its zeros and unit factors.
const BT6: [[f32; 6]; 6] = [
    [4., 0., -5., 0., 1., 0.],
    [0., -4., -4., 1., 1., 0.],
    [0., 4., -4., -1., 1., 0.],
    [0., -2., -1., 2., 1., 0.],
    [0., 2., -1., -2., 1., 0.],
    [0., 4., 0., -5., 0., 1.],
];

/// `Bᵀ` for α = 8: the points of [`BT6`] and ±1/2, each factor `x ∓ 1/2` written `2x ∓ 1` so that
/// the entries stay integers (the F(6x6, 3x3) points of Lavin & Gray; shared by F(4x4, 5x5)).
const BT8: [[f32; 8]; 8] = [
    [-4., 0., 21., 0., -21., 0., 4., 0.],
    [0., 4., 4., -17., -17., 4., 4., 0.],
    [0., -4., 4., 17., -17., -4., 4., 0.],
    [0., 2., 1., -10., -5., 8., 4., 0.],
    [0., -2., 1., 10., -5., -8., 4., 0.],
    [0., 4., 8., -5., -10., 1., 2., 0.],
    [0., -4., 8., 5., -10., -1., 2., 0.],
    [0., -4., 0., 21., 0., -21., 0., 4.],
];

/// `Bᵀ` of size α = `A`, as a constant of the transforms compiled for that size.
const fn bt<const A: usize>() -> [[f32; A]; A] {
    assert!(A == 6 || A == 8, "Winograd transforms are 6x6 or 8x8");
    let mut b = [[0.0f32; A]; A];
    let mut i = 0;
    while i < A {
        let mut j = 0;
        while j < A {
            b[i][j] = if A == 6 { BT6[i][j] } else { BT8[i][j] };
            j += 1;
        }
        i += 1;
    }
    b
}

/// Entry (j, i) of `Bᵀ` for α = `alpha`.
fn bt_at(alpha: usize, j: usize, i: usize) -> f32 {
    if alpha == 6 { BT6[j][i] } else { BT8[j][i] }
}

/// Solves for the Toom-Cook matrices of F(m, r) at the first α − 1 of [`POINTS`] and ∞.
fn build(m: usize, r: usize) -> Transform {
    let a = m + r - 1;
    assert!(a == 6 || a == 8, "F({m}, {r}): α = {a}");
    let p = &POINTS[..a - 1];
    // E: row j < α−1 is (1, p_j, p_j², ...); the last row (∞) picks the leading coefficient.
    let mut e = [[0.0f64; AMAX]; AMAX];
    for (j, &pj) in p.iter().enumerate() {
        for k in 0..a {
            e[j][k] = pj.powi(k as i32);
        }
    }
    e[a - 1][a - 1] = 1.0;
    let c = invert(e, a);
    let mut t = Transform { m, r, alpha: a, at: [[0.0; AMAX]; AMAX], g: [[0.0; AMAX]; AMAX] };
    let mut bt = [[0.0f64; AMAX]; AMAX];
    let mut g = [[0.0f64; AMAX]; AMAX];
    for j in 0..a {
        for i in 0..a {
            bt[j][i] = c[i][j];
        }
        for k in 0..r {
            g[j][k] = if j < a - 1 { p[j].powi(k as i32) } else { (k == r - 1) as u8 as f64 };
        }
        for i in 0..m {
            t.at[i][j] = if j < a - 1 { p[j].powi(i as i32) as f32 } else { (i == m - 1) as u8 as f32 };
            let want = if a == 6 { at_matrix::<6>(m)[i][j] } else { at_matrix::<8>(m)[i][j] };
            assert_eq!(t.at[i][j], want, "Aᵀ of F({m}, {r}) at ({i}, {j})");
        }
        // Row j of the solved Bᵀ is s_j times row j of the constant; the factor moves into row
        // j of G (the elementwise product is unchanged).
        let k = (0..a).max_by(|&x, &y| bt_at(a, j, x).abs().total_cmp(&bt_at(a, j, y).abs())).unwrap();
        let s = bt[j][k] / bt_at(a, j, k) as f64;
        for i in 0..a {
            assert!((bt[j][i] - s * bt_at(a, j, i) as f64).abs() < 1e-9 * s.abs(), "Bᵀ row {j} is not the constant's");
        }
        for k in 0..r {
            t.g[j][k] = (g[j][k] * s) as f32;
        }
    }
    t
}

/// Gauss-Jordan inverse of the leading n x n block, with partial pivoting (a Vandermonde matrix,
/// well conditioned at these points).
fn invert(mut a: [[f64; AMAX]; AMAX], n: usize) -> [[f64; AMAX]; AMAX] {
    let mut inv = [[0.0f64; AMAX]; AMAX];
    for (i, row) in inv.iter_mut().enumerate().take(n) {
        row[i] = 1.0;
    }
    for col in 0..n {
        let piv = (col..n).max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs())).unwrap();
        a.swap(col, piv);
        inv.swap(col, piv);
        let d = a[col][col];
        for k in 0..n {
            a[col][k] /= d;
            inv[col][k] /= d;
        }
        for row in 0..n {
            if row != col {
                let f = a[row][col];
                for k in 0..n {
                    a[row][k] -= f * a[col][k];
                    inv[row][k] -= f * inv[col][k];
                }
            }
        }
    }
    inv
}

/// The points the `Bᵀ` constants were written for, in their rows' order (α = 6 takes the first
/// five).
const POINTS: [f64; 7] = [0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5];

fn f43() -> &'static Transform {
    static T: OnceLock<Transform> = OnceLock::new();
    T.get_or_init(|| build(4, 3))
}

fn f25() -> &'static Transform {
    static T: OnceLock<Transform> = OnceLock::new();
    T.get_or_init(|| build(2, 5))
}

fn f63() -> &'static Transform {
    static T: OnceLock<Transform> = OnceLock::new();
    T.get_or_init(|| build(6, 3))
}

fn f45() -> &'static Transform {
    static T: OnceLock<Transform> = OnceLock::new();
    T.get_or_init(|| build(4, 5))
}

/// False when `AEKIT_WINOGRAD=0`: every layer then runs through im2col (the channels-last
/// kernels, Winograd and `super::direct`, off), for timing against the plain path.
pub(crate) fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| !std::env::var("AEKIT_WINOGRAD").is_ok_and(|v| v.trim() == "0"))
}

/// Which layers may take the 8x8 transforms: `AEKIT_WINOGRAD_TILE=6` none (timing the 6x6 ones
/// alone), `=8` every layer where they have fewer gemms, otherwise (the default) 5x5 kernels
/// only. F(6, 3) has 21% fewer gemm multiplies than F(4, 3), but on the photo denoiser (48x48
/// crops, 48 channels) its step was no faster (58-61 ms against 56-58 ms,
/// `examples/conv_layers 11 dncnn`): the larger transforms and buffers take what the gemms save.
/// F(4, 5) against F(2, 5) cuts the gemms 2.25x and the transforms too: SRCNN's step 95 → 67 ms.
#[derive(Clone, Copy, PartialEq)]
enum LargeTiles {
    Never,
    FiveByFive,
    Always,
}

fn large_tiles() -> LargeTiles {
    static ON: OnceLock<LargeTiles> = OnceLock::new();
    *ON.get_or_init(|| match std::env::var("AEKIT_WINOGRAD_TILE").as_deref().map(str::trim) {
        Ok("6") => LargeTiles::Never,
        Ok("8") => LargeTiles::Always,
        _ => LargeTiles::FiveByFive,
    })
}

/// The Winograd variant for a convolution with `o` output channels, or `None` where the direct
/// kernels run it: not stride 1, not 3x3 or 5x5, or too few channels for the α² gemms to pay
/// for the transforms (the first and last layers of the photo models, with 1-3 channels).
///
/// Of the two sizes per kernel, the 8x8 transform (F(4, 5); F(6, 3) only when asked, see
/// [`large_tiles`]) is taken when its gemms (tiles · α², the work that scales with both channel
/// counts) are fewer than the 6x6 one's and it does not lose an exact cover of the output the
/// 6x6 one has (an exact cover hands the output on channels-last, see [`Order::ChannelsLast`]).
/// Its rounding error is ~2x the 6x6 one's (the tests' bound), far inside what training needs.
pub(crate) fn plan(g: &Geom, o: usize) -> Option<&'static Transform> {
    plan_with(g, o, large_tiles())
}

fn plan_with(g: &Geom, o: usize, large_tiles: LargeTiles) -> Option<&'static Transform> {
    if !enabled() {
        return None;
    }
    if g.stride != [1, 1] || g.c < 16 || o < 16 || g.ho == 0 || g.wo == 0 {
        return None;
    }
    let (small, large) = match g.kernel {
        [3, 3] => (f43(), f63()),
        [5, 5] => (f25(), f45()),
        _ => return None,
    };
    let allowed = match large_tiles {
        LargeTiles::Never => false,
        LargeTiles::FiveByFive => g.kernel == [5, 5],
        LargeTiles::Always => true,
    };
    let cost = |t: &Transform| (g.ho.div_ceil(t.m) * g.wo.div_ceil(t.m) * t.alpha * t.alpha, g.ho % t.m == 0 && g.wo % t.m == 0);
    let ((cs, exact_s), (cl, exact_l)) = (cost(small), cost(large));
    Some(if allowed && cl < cs && (exact_l || !exact_s) { large } else { small })
}

/// The tile grid over the output and the zero-padded input images the tiles read. Padded
/// images are channels-last (`[row, column, channel]`): the transforms run over channels, so
/// every load and store of a tile's entry is one contiguous run of channels.
#[derive(Clone, Copy)]
pub(crate) struct Tiles {
    m: usize,
    /// Tiles per column and per row of the output.
    th: usize,
    tw: usize,
    /// Padded image height and width: every tile's α x α window lies inside.
    ph: usize,
    pw: usize,
}

impl Tiles {
    /// One-pixel "tiles" with the padding an r x r kernel needs: the layout of the direct
    /// channels-last kernels (`super::direct`).
    pub(crate) fn unit(g: &Geom) -> Tiles {
        Tiles { m: 1, th: g.ho, tw: g.wo, ph: g.ho + g.kernel[0] - 1, pw: g.wo + g.kernel[1] - 1 }
    }
    pub(crate) fn padded(&self) -> (usize, usize) {
        (self.ph, self.pw)
    }
    fn new(g: &Geom, t: &Transform) -> Tiles {
        let (th, tw) = (g.ho.div_ceil(t.m), g.wo.div_ceil(t.m));
        Tiles { m: t.m, th, tw, ph: th * t.m + t.r - 1, pw: tw * t.m + t.r - 1 }
    }
    fn per_image(&self) -> usize {
        self.th * self.tw
    }
    /// Pixels of a padded image.
    pub(crate) fn pixels(&self) -> usize {
        self.ph * self.pw
    }
    /// (image, tile row, tile column) of tile `t`.
    fn coords(&self, t: usize) -> (usize, usize, usize) {
        let (b, rem) = (t / self.per_image(), t % self.per_image());
        (b, rem / self.tw, rem % self.tw)
    }
    /// Offset of tile `t`'s window in channels-last padded images of `c` channels.
    fn base(&self, t: usize, c: usize) -> usize {
        let (b, ti, tj) = self.coords(t);
        (b * self.pixels() + ti * self.m * self.pw + tj * self.m) * c
    }
    /// Rows and columns of the image inside the padded image.
    fn visible(&self, g: &Geom) -> (usize, usize) {
        (g.h.min(self.ph.saturating_sub(g.pad[0])), g.w.min(self.pw.saturating_sub(g.pad[1])))
    }
}

/// Tiles per gemm block: `V` (α²·C·tiles values) near 1 MiB.
fn block_tiles(alpha: usize, c: usize) -> usize {
    (262_144 / (alpha * alpha * c.max(1))).clamp(16, 512)
}

/// How a batch of activations lies in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Order {
    /// NCHW, one plane per channel: Burn's layout, what every other kernel takes.
    Planes,
    /// `[batch, h + 2p, w + 2p, c]` with `p` = the value: channels-last (the layout the
    /// transforms work in) inside a border of `p` zero pixels (of no meaning in a gradient).
    /// A Winograd layer whose tiles cover its output exactly hands the output on this way, with
    /// its own padding as the border; the next layer with that padding reads the buffer as its
    /// padded input, without a copy, and returns its input gradient in the buffer it
    /// accumulates in. Against NCHW that saves two transposes a layer forward and three
    /// backward. `super::conv` presents such a tensor to Burn as a narrowed, permuted view.
    ChannelsLast(usize),
}

impl Order {
    /// Values per image of `c` channels of `h` x `w` pixels.
    pub(crate) fn image_len(self, c: usize, h: usize, w: usize) -> usize {
        match self {
            Order::Planes => c * h * w,
            Order::ChannelsLast(p) => c * (h + 2 * p) * (w + 2 * p),
        }
    }
    /// Offset of pixel (0, 0) in an image, and the values from one row to the next.
    pub(crate) fn origin_and_row(self, c: usize, w: usize) -> (usize, usize) {
        match self {
            Order::Planes => (0, w),
            Order::ChannelsLast(p) => ((p * (w + 2 * p) + p) * c, (w + 2 * p) * c),
        }
    }
}

/// Whether images of `g` in `order` are, as they lie, the zero-padded images the tiles `ts`
/// read: a border of the layer's padding, the padded size the tiles need.
fn reads_in_place(g: &Geom, ts: &Tiles, order: Order) -> bool {
    matches!(order, Order::ChannelsLast(p) if g.pad == [p, p] && (ts.ph, ts.pw) == (g.h + 2 * p, g.w + 2 * p))
}

/// Writes zeros over the border of `p` pixels of each `[h + 2p, w + 2p, c]` image in `buf`.
pub(crate) fn zero_border(buf: &mut [MaybeUninit<f32>], c: usize, h: usize, w: usize, p: usize) {
    if p == 0 {
        return;
    }
    let (rw, img) = ((w + 2 * p) * c, (h + 2 * p) * (w + 2 * p) * c);
    for im in buf.chunks_exact_mut(img) {
        im[..p * rw].fill(MaybeUninit::new(0.0));
        im[(p + h) * rw..].fill(MaybeUninit::new(0.0));
        for r in 0..h {
            let row = &mut im[(p + r) * rw..][..rw];
            row[..p * c].fill(MaybeUninit::new(0.0));
            row[(p + w) * c..].fill(MaybeUninit::new(0.0));
        }
    }
}

/// `v` as memory to write f32 values into (which keeps it initialised).
fn as_uninit(v: &mut [f32]) -> &mut [MaybeUninit<f32>] {
    // SAFETY: `[MaybeUninit<f32>]` has `[f32]`'s layout, and an initialised value is a valid
    // `MaybeUninit`; callers only write f32s through it.
    unsafe { &mut *(v as *mut [f32] as *mut [MaybeUninit<f32>]) }
}

/// Runs `add` on a zeroed buffer of padded channels-last images (the layout [`pad_images`]
/// makes) that a backward chunk accumulates its input gradient in, then leaves the gradient in
/// `dxc`, in `order`. Where `x` is read in place ([`reads_in_place`]) that buffer is `dxc`
/// itself (its border zeroed again after `add`: the kernels add into it too); otherwise a pooled
/// buffer, cropped into `dxc`. Without an input gradient (`dxc` `None`), `add` gets `None`.
pub(crate) fn accumulate_dx<R>(
    g: &Geom,
    ts: &Tiles,
    order: Order,
    nb: usize,
    dxc: Option<&mut [MaybeUninit<f32>]>,
    add: impl FnOnce(Option<&mut [f32]>) -> R,
) -> R {
    let Some(dxc) = dxc else { return add(None) };
    if reads_in_place(g, ts, order) {
        let d = zeroed(dxc);
        let r = add(Some(&mut *d));
        if let Order::ChannelsLast(p) = order {
            zero_border(as_uninit(d), g.c, g.h, g.w, p);
        }
        return r;
    }
    let mut own = scratch(nb * ts.pixels() * g.c);
    own.fill(0.0);
    let r = add(Some(&mut own[..]));
    crop_images(g, ts, &own, dxc, order);
    recycle([own]);
    r
}

/// Returns a buffer [`pad_images`] made to the pool.
pub(crate) fn recycle_cow(xp: Cow<'_, [f32]>) {
    if let Cow::Owned(v) = xp {
        recycle([v]);
    }
}

/// Images `first..first + nb` of `x` (in `order`), zero-padded and channels-last: `x` itself
/// where it already is (see [`Order::ChannelsLast`]).
pub(crate) fn pad_images<'a>(g: &Geom, ts: &Tiles, x: &'a [f32], first: usize, nb: usize, order: Order) -> Cow<'a, [f32]> {
    let (vh, vw) = ts.visible(g);
    let c = g.c;
    let x_img = order.image_len(c, g.h, g.w);
    if reads_in_place(g, ts, order) {
        return Cow::Borrowed(&x[first * x_img..][..nb * x_img]);
    }
    let (origin, x_row) = order.origin_and_row(c, g.w);
    // A pooled buffer: every value is written below (a fresh zeroed buffer of the batch's size
    // cost page faults and a memset every call).
    let mut xp = scratch(nb * ts.pixels() * c);
    let (top, left) = (g.pad[0].min(ts.ph), g.pad[1].min(ts.pw));
    let (hw, pw) = (g.h * g.w, ts.pw);
    xp.par_chunks_mut((ts.pixels() * c).max(1)).enumerate().for_each(|(i, img)| {
        let src = &x[(first + i) * x_img + origin..];
        img[..top * pw * c].fill(0.0);
        img[(top + vh) * pw * c..].fill(0.0);
        for r in 0..vh {
            let row = &mut img[(top + r) * pw * c..][..pw * c];
            row[..left * c].fill(0.0);
            row[(left + vw) * c..].fill(0.0);
        }
        if let Order::ChannelsLast(_) = order {
            for r in 0..vh {
                img[((top + r) * pw + left) * c..][..vw * c].copy_from_slice(&src[r * x_row..][..vw * c]);
            }
            return;
        }
        // Eight channels at a time down the whole image: eight sequential read streams (all C
        // channels per image row were C streams at a stride of H·W values, more than the
        // hardware prefetchers follow).
        for c0 in (0..c).step_by(8) {
            let cw = 8.min(c - c0);
            for r in 0..vh {
                transpose(cw, vw, &src[c0 * hw + r * g.w..], hw, None, &mut img[((top + r) * pw + left) * c + c0..], c);
            }
        }
    });
    Cow::Owned(xp)
}

/// `coef[ξ][q·r + s] = G[i][q]·G[j][s]` for ξ = (i, j): `U[ξ] = Σ_qs coef[ξ][qs]·w[qs]`.
fn weight_coefficients(t: &Transform) -> Vec<[f32; 25]> {
    let r = t.r;
    let a = t.alpha;
    (0..a * a)
        .map(|xi| {
            let (i, j) = (xi / a, xi % a);
            let mut c = [0.0f32; 25];
            for (k, v) in c.iter_mut().enumerate().take(r * r) {
                *v = (t.g[i][k / r] as f64 * t.g[j][k % r] as f64) as f32;
            }
            c
        })
        .collect()
}

/// `U[ξ][c][o] = (G w[o][c] Gᵀ)[ξ]`: α² matrices `[C, O]`.
///
/// Done as α² sums of r² rows scaled by constants, along the output channels (the weights are
/// first laid out `[c][r²][o]`), in parallel over ξ. The former form, two small matrix products
/// per (o, c) pair with 36 scattered stores, ran on the calling thread and was ~5% of a photo
/// denoiser's training step (it runs in the forward pass and again in the backward).
fn weight_transform(t: &Transform, w: &[f32], o: usize, c: usize) -> Vec<f32> {
    let rr = t.r * t.r;
    let mut wt = vec![0.0f32; c * rr * o];
    for oc in 0..o {
        for ch in 0..c {
            for k in 0..rr {
                wt[(ch * rr + k) * o + oc] = w[(oc * c + ch) * rr + k];
            }
        }
    }
    let coef = weight_coefficients(t);
    let mut u = vec![0.0f32; t.alpha * t.alpha * c * o];
    u.par_chunks_mut((c * o).max(1)).zip(&coef).for_each(|(ux, cf)| {
        for ch in 0..c {
            let dst = &mut ux[ch * o..(ch + 1) * o];
            for (k, &a) in cf[..rr].iter().enumerate() {
                if a == 0.0 {
                    continue;
                }
                for (d, &s) in dst.iter_mut().zip(&wt[(ch * rr + k) * o..][..o]) {
                    *d += a * s;
                }
            }
        }
    });
    u
}

/// `dw[o][c] = Gᵀ dU[o][c] G` from `du` laid out as [`weight_transform`]'s output; the same
/// form (sums along the output channels, in parallel over the input channels).
fn weight_transform_adjoint(t: &Transform, du: &[f32], o: usize, c: usize) -> Vec<f32> {
    let rr = t.r * t.r;
    let coef = weight_coefficients(t);
    let mut dwt = vec![0.0f32; c * rr * o];
    dwt.par_chunks_mut((rr * o).max(1)).enumerate().for_each(|(ch, blk)| {
        for k in 0..rr {
            let dst = &mut blk[k * o..(k + 1) * o];
            for (xi, cf) in coef.iter().enumerate() {
                let a = cf[k];
                if a == 0.0 {
                    continue;
                }
                for (d, &s) in dst.iter_mut().zip(&du[(xi * c + ch) * o..][..o]) {
                    *d += a * s;
                }
            }
        }
    });
    let mut dw = vec![0.0f32; o * c * rr];
    dw.par_chunks_mut((c * rr).max(1)).enumerate().for_each(|(oc, row)| {
        for (i, v) in row.iter_mut().enumerate() {
            *v = dwt[i * o + oc];
        }
    });
    dw
}

/// L channels per transform entry.
type Lanes<const L: usize, const A: usize> = [[f32; L]; A];

/// `y = BT·x` (`adjoint`: `y = BTᵀ·x`) on L channels at once. Inlined with the constant `BT`,
/// the zero tests fold away and only the nonzero terms are computed.
#[inline(always)]
fn bt_apply<const L: usize, const A: usize>(x: &Lanes<L, A>, adjoint: bool) -> Lanes<L, A> {
    let bt = const { bt::<A>() };
    let mut y = [[0.0f32; L]; A];
    for i in 0..A {
        for u in 0..A {
            let b = if adjoint { bt[u][i] } else { bt[i][u] };
            if b != 0.0 {
                for l in 0..L {
                    y[i][l] += b * x[u][l];
                }
            }
        }
    }
    y
}

// The transforms below fill their arrays in plain loops: `std::array::from_fn` was left out of
// line in the `#[target_feature]` copies, and its calls copied 16 bytes at a time (13% of the
// photo denoiser's training time).

/// `V[ξ][tile][c] = (Bᵀ d B)[ξ]` for tiles `t0..t0 + nt` of the padded images `xp`, into `v`
/// laid out as α² matrices `[nt, C]`.
#[inline(always)]
fn input_transform_lanes<const L: usize>(tf: &Transform, ts: &Tiles, xp: &[f32], c: usize, t0: usize, nt: usize, v: &mut [f32]) {
    match tf.alpha {
        6 => input_transform_a::<L, 6>(ts, xp, c, t0, nt, v),
        8 => input_transform_a::<L, 8>(ts, xp, c, t0, nt, v),
        a => unreachable!("no {a}x{a} Winograd transform"),
    }
}

#[inline(always)]
fn input_transform_a<const L: usize, const A: usize>(ts: &Tiles, xp: &[f32], c: usize, t0: usize, nt: usize, v: &mut [f32]) {
    for tl in 0..nt {
        let base = ts.base(t0 + tl, c);
        let window = &xp[base..][..((A - 1) * ts.pw + A - 1) * c + c];
        for c0 in (0..c).step_by(L) {
            by_lanes!(L.min(c - c0), L, |lanes| {
                // Rows first: t[u] = BT·(row u of the window), then columns. `t` starts
                // uninitialised: a zeroed one was a 2.3 KiB memset per tile and 16 channels
                // (1.3% of a photo denoiser's step), every row of it overwritten just after.
                let mut t = [MaybeUninit::<Lanes<L, A>>::uninit(); A];
                for (u, tu) in t.iter_mut().enumerate() {
                    let mut row = [[0.0f32; L]; A];
                    for (w, r) in row.iter_mut().enumerate() {
                        *r = load(&window[(u * ts.pw + w) * c + c0..], lanes);
                    }
                    tu.write(bt_apply(&row, false));
                }
                for j in 0..A {
                    let mut col = [[0.0f32; L]; A];
                    for (u, x) in col.iter_mut().enumerate() {
                        // SAFETY: the loop above wrote every row of `t`.
                        *x = unsafe { t[u].assume_init_ref() }[j];
                    }
                    let out = bt_apply(&col, false);
                    for (i, o) in out.iter().enumerate() {
                        store(&mut v[(i * A + j) * pitch(nt * c) + tl * c + c0..], o, lanes);
                    }
                }
            })
        }
    }
}

/// Adds `B dV Bᵀ` for tiles `t0..t0 + nt` into the padded input gradient `dxp` (channels-last);
/// `dv` is laid out as [`input_transform`]'s output.
#[inline(always)]
fn input_transform_adjoint_lanes<const L: usize>(tf: &Transform, ts: &Tiles, dv: &[f32], c: usize, t0: usize, nt: usize, dxp: &mut [f32]) {
    match tf.alpha {
        6 => input_transform_adjoint_a::<L, 6>(ts, dv, c, t0, nt, dxp),
        8 => input_transform_adjoint_a::<L, 8>(ts, dv, c, t0, nt, dxp),
        a => unreachable!("no {a}x{a} Winograd transform"),
    }
}

#[inline(always)]
fn input_transform_adjoint_a<const L: usize, const A: usize>(ts: &Tiles, dv: &[f32], c: usize, t0: usize, nt: usize, dxp: &mut [f32]) {
    for tl in 0..nt {
        let base = ts.base(t0 + tl, c);
        let window = &mut dxp[base..][..((A - 1) * ts.pw + A - 1) * c + c];
        for c0 in (0..c).step_by(L) {
            by_lanes!(L.min(c - c0), L, |lanes| {
                // Columns first (Bᵀ's transpose on the left), then rows.
                let mut t = [[[0.0f32; L]; A]; A];
                for j in 0..A {
                    let mut col = [[0.0f32; L]; A];
                    for (i, x) in col.iter_mut().enumerate() {
                        *x = load(&dv[(i * A + j) * pitch(nt * c) + tl * c + c0..], lanes);
                    }
                    let out = bt_apply(&col, true);
                    for u in 0..A {
                        t[u][j] = out[u];
                    }
                }
                for (u, tu) in t.iter().enumerate() {
                    let dd = bt_apply(tu, true);
                    for (w, d) in dd.iter().enumerate() {
                        let dst = &mut window[(u * ts.pw + w) * c + c0..][..lanes];
                        dst.iter_mut().zip(d).for_each(|(x, v)| *x += v);
                    }
                }
            })
        }
    }
}

/// A raw output pointer shared by parallel jobs that write disjoint values (here the tile
/// blocks; in `super::direct` the output rows).
#[derive(Clone, Copy)]
pub(crate) struct Out(pub(crate) *mut f32);
// SAFETY: every user writes only its own job's values (see `conv2d` here and in `direct`).
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

/// `Aᵀ` of F(m, r) with α = `A` at [`POINTS`] and ∞ ([`build`] solves for the same): row i
/// holds p_j^i, and the ∞ column is 1 in row m − 1 only. A constant for the output transforms,
/// so that, unrolled over m and α, their zeros and unit factors fold away.
const fn at_matrix<const A: usize>(m: usize) -> [[f32; A]; A] {
    let p = [0.0f32, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5];
    let mut at = [[0.0f32; A]; A];
    let mut i = 0;
    while i < m {
        let mut j = 0;
        while j < A - 1 {
            let (mut v, mut k) = (1.0f32, 0);
            while k < i {
                v *= p[j];
                k += 1;
            }
            at[i][j] = v;
            j += 1;
        }
        i += 1;
    }
    at[m - 1][A - 1] = 1.0;
    at
}

/// `Y = Aᵀ M A` for tiles `t0..t0 + nt`, plus the bias, then the ReLU, written into `yt`
/// (channels-last images of `th·m x tw·m` pixels, padded to whole tiles, in `dst`, a
/// [`Order::ChannelsLast`]: the pixels of these tiles only); `mm` is laid out `[ξ][nt][o]`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn output_transform_lanes<const L: usize>(tf: &Transform, ts: &Tiles, mm: &[f32], o: usize, t0: usize, nt: usize, bias: &[f32], relu: bool, yt: Out, dst: Order) {
    match (tf.m, tf.alpha) {
        (4, 6) => output_transform_m::<L, 4, 6>(ts, mm, o, t0, nt, bias, relu, yt, dst),
        (2, 6) => output_transform_m::<L, 2, 6>(ts, mm, o, t0, nt, bias, relu, yt, dst),
        (6, 8) => output_transform_m::<L, 6, 8>(ts, mm, o, t0, nt, bias, relu, yt, dst),
        (4, 8) => output_transform_m::<L, 4, 8>(ts, mm, o, t0, nt, bias, relu, yt, dst),
        (m, a) => unreachable!("no Winograd variant with {m}x{m} output tiles and {a}x{a} transforms"),
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn output_transform_m<const L: usize, const MT: usize, const A: usize>(ts: &Tiles, mm: &[f32], o: usize, t0: usize, nt: usize, bias: &[f32], relu: bool, yt: Out, dst: Order) {
    let at = const { at_matrix::<A>(MT) };
    let (hp, wp) = (ts.th * MT, ts.tw * MT);
    let (img, (origin, row)) = (dst.image_len(o, hp, wp), dst.origin_and_row(o, wp));
    for tl in 0..nt {
        let (b, ti, tj) = ts.coords(t0 + tl);
        let base = b * img + origin + ti * MT * row + tj * MT * o;
        for o0 in (0..o).step_by(L) {
            by_lanes!(L.min(o - o0), L, |lanes| {
                let bias: [f32; L] = load(&bias[o0..], lanes);
                // out = Aᵀ s A, one row u of s at a time: r = (row u) A, then out += Aᵀ[:, u] r.
                // Live at once: out (m² vectors), the row and r (α + m): 28 of AVX-512's 32
                // registers for F(4, 5). The two-stage form (all of Aᵀ s first, m·α vectors)
                // spilled with the 8x8 transforms and took 12% of an SRCNN step.
                let mut out = [[[0.0f32; L]; MT]; MT];
                for u in 0..A {
                    let mut s = [[0.0f32; L]; A];
                    for (v, x) in s.iter_mut().enumerate() {
                        *x = load(&mm[(u * A + v) * pitch(nt * o) + tl * o + o0..], lanes);
                    }
                    let mut r = [[0.0f32; L]; MT];
                    for (j, rj) in r.iter_mut().enumerate() {
                        for (v, sv) in s.iter().enumerate() {
                            let a = at[j][v];
                            if a != 0.0 {
                                for l in 0..L {
                                    rj[l] += a * sv[l];
                                }
                            }
                        }
                    }
                    for (i, oi) in out.iter_mut().enumerate() {
                        let a = at[i][u];
                        if a != 0.0 {
                            for (oij, rj) in oi.iter_mut().zip(&r) {
                                for l in 0..L {
                                    oij[l] += a * rj[l];
                                }
                            }
                        }
                    }
                }
                for (i, oi) in out.iter().enumerate() {
                    for (j, oij) in oi.iter().enumerate() {
                        let mut val = bias;
                        for l in 0..L {
                            val[l] += oij[l];
                        }
                        if relu {
                            val.iter_mut().for_each(|x| *x = x.max(0.0));
                        }
                        // SAFETY: pixel (ti·m + i, tj·m + j) of image b < batch lies in the
                        // padded output (th·m x tw·m, inside `dst`'s border), and channels
                        // o0..o0 + lanes ≤ o; only this tile writes it.
                        unsafe { std::ptr::copy_nonoverlapping(val.as_ptr(), yt.0.add(base + i * row + j * o + o0), lanes) };
                    }
                }
            })
        }
    }
}

/// `dM = A dY Aᵀ` for tiles `t0..t0 + nt` of `dyt` (see [`dy_tiles`]: channels-last and padded
/// to whole tiles, so every tile reads m x m pixels without edge tests), laid out `[ξ][nt][o]`.
#[inline(always)]
fn output_transform_adjoint_lanes<const L: usize>(tf: &Transform, ts: &Tiles, dyt: &[f32], o: usize, t0: usize, nt: usize, dm: &mut [f32]) {
    match (tf.m, tf.alpha) {
        (4, 6) => output_transform_adjoint_m::<L, 4, 6>(ts, dyt, o, t0, nt, dm),
        (2, 6) => output_transform_adjoint_m::<L, 2, 6>(ts, dyt, o, t0, nt, dm),
        (6, 8) => output_transform_adjoint_m::<L, 6, 8>(ts, dyt, o, t0, nt, dm),
        (4, 8) => output_transform_adjoint_m::<L, 4, 8>(ts, dyt, o, t0, nt, dm),
        (m, a) => unreachable!("no Winograd variant with {m}x{m} output tiles and {a}x{a} transforms"),
    }
}

#[inline(always)]
fn output_transform_adjoint_m<const L: usize, const MT: usize, const A: usize>(ts: &Tiles, dyt: &[f32], o: usize, t0: usize, nt: usize, dm: &mut [f32]) {
    let at = const { at_matrix::<A>(MT) };
    let wp = ts.tw * MT;
    for tl in 0..nt {
        let (b, ti, tj) = ts.coords(t0 + tl);
        let base = ((b * ts.th + ti) * MT * wp + tj * MT) * o;
        for o0 in (0..o).step_by(L) {
            by_lanes!(L.min(o - o0), L, |lanes| {
                // tmp = A d: α x m (A = (Aᵀ)ᵀ), one row of d at a time; out = tmp Aᵀ: α x α.
                let mut tmp = [[[0.0f32; L]; MT]; A];
                for i in 0..MT {
                    let mut d = [[0.0f32; L]; MT];
                    for (j, x) in d.iter_mut().enumerate() {
                        *x = load(&dyt[base + (i * wp + j) * o + o0..], lanes);
                    }
                    for (u, t) in tmp.iter_mut().enumerate() {
                        let a = at[i][u];
                        if a != 0.0 {
                            for j in 0..MT {
                                for l in 0..L {
                                    t[j][l] += a * d[j][l];
                                }
                            }
                        }
                    }
                }
                for (u, t) in tmp.iter().enumerate() {
                    for v in 0..A {
                        let mut acc = [0.0f32; L];
                        for j in 0..MT {
                            let a = at[j][v];
                            if a != 0.0 {
                                for l in 0..L {
                                    acc[l] += a * t[j][l];
                                }
                            }
                        }
                        store(&mut dm[(u * A + v) * pitch(nt * o) + tl * o + o0..], &acc, lanes);
                    }
                }
            })
        }
    }
}

dispatch!(input_transform, input_transform_lanes, (tf: &Transform, ts: &Tiles, xp: &[f32], c: usize, t0: usize, nt: usize, v: &mut [f32]));
dispatch!(input_transform_adjoint, input_transform_adjoint_lanes, (tf: &Transform, ts: &Tiles, dv: &[f32], c: usize, t0: usize, nt: usize, dxp: &mut [f32]));
dispatch!(output_transform, output_transform_lanes, (tf: &Transform, ts: &Tiles, mm: &[f32], o: usize, t0: usize, nt: usize, bias: &[f32], relu: bool, yt: Out, dst: Order));
dispatch!(output_transform_adjoint, output_transform_adjoint_lanes, (tf: &Transform, ts: &Tiles, dyt: &[f32], o: usize, t0: usize, nt: usize, dm: &mut [f32]));

/// The distance between consecutive α² matrices of `n` values in a tile block (`V`, `M`, `dM`,
/// `dV`): one cache line more than `n`. The transforms touch all α² matrices per tile, so at a
/// distance of a power of two (64 tiles x 32 channels x 4 bytes = 8 KiB with the 8x8
/// transforms) those α² streams fell into the same few cache sets and evicted one another: the
/// output transform took 14% of an SRCNN step instead of ~2%.
const fn pitch(n: usize) -> usize {
    n + 16
}

/// The `aa` = α² gemms `dst[ξ] (+)= a[ξ]·b[ξ]` (`dst[ξ]` `[m, n]` at `ξ·d_step`; `a[ξ]`, `b[ξ]`
/// at `ξ·a_step`, `ξ·b_step` with the strides given).
#[allow(clippy::too_many_arguments)]
fn gemms(aa: usize, m: usize, n: usize, k: usize, dst: &mut [f32], d_step: usize, a: &[f32], a_step: usize, ars: usize, acs: usize, b: &[f32], b_step: usize, brs: usize, bcs: usize, acc: bool, par: Parallelism) {
    for xi in 0..aa {
        gemm_into(
            m,
            n,
            k,
            &mut dst[xi * d_step..][..m * n],
            n,
            M::new(&a[xi * a_step..][..a_step], ars, acs),
            M::new(&b[xi * b_step..][..b_step], brs, bcs),
            acc,
            par,
        );
    }
}

/// dY of a chunk of images (`dy` and `y` both in `order`; where the forward's output `y` is
/// given, masked by the ReLU) channels-last and zero-padded to whole tiles, `[nb, th·m, tw·m,
/// o]`, with each channel's sum (the bias gradient: f32 over an image row, f64 across rows) when
/// `sums`.
fn dy_tiles(g: &Geom, ts: &Tiles, o: usize, dy: &[f32], y: Option<&[f32]>, sums: bool, order: Order) -> (Vec<f32>, Vec<f64>) {
    let (hp, wp) = (ts.th * ts.m, ts.tw * ts.m);
    let n = g.ho * g.wo;
    let y_img = order.image_len(o, g.ho, g.wo);
    let nb = dy.len() / y_img.max(1);
    let mut dyt = scratch(nb * hp * wp * o);
    if hp > g.ho || wp > g.wo {
        dyt.fill(0.0);
    }
    let mut db = vec![0.0f64; if sums { o } else { 0 }];
    let mut row_sum = vec![0.0f32; o];
    for b in 0..nb {
        let (src, keep) = (&dy[b * y_img..], y.map(|y| &y[b * y_img..]));
        let img = &mut dyt[b * hp * wp * o..][..hp * wp * o];
        if let Order::ChannelsLast(_) = order {
            let ((origin, stride), row) = (order.origin_and_row(o, g.wo), g.wo * o);
            for r in 0..g.ho {
                let at = origin + r * stride;
                let (d, s) = (&mut img[r * wp * o..][..row], &src[at..][..row]);
                match keep {
                    // A bit mask, not a branch: the loop vectorises.
                    Some(k) => d.iter_mut().zip(s).zip(&k[at..][..row]).for_each(|((d, s), k)| {
                        *d = f32::from_bits(s.to_bits() & ((*k > 0.0) as u32).wrapping_neg());
                    }),
                    None => d.copy_from_slice(s),
                }
            }
        } else if wp == g.wo {
            // Rows without padding between them: one transpose of the image, which runs down
            // eight channels at a time (sequential reads; see `pad_images`).
            transpose(o, n, src, n, keep, img, o);
        } else {
            for r in 0..g.ho {
                transpose(o, g.wo, &src[r * g.wo..], n, keep.map(|k| &k[r * g.wo..]), &mut img[r * wp * o..], o);
            }
        }
        if sums {
            for r in 0..g.ho {
                row_sum.fill(0.0);
                for px in img[r * wp * o..][..g.wo * o].chunks_exact(o) {
                    row_sum.iter_mut().zip(px).for_each(|(s, v)| *s += v);
                }
                db.iter_mut().zip(&row_sum).for_each(|(d, s)| *d += *s as f64);
            }
        }
    }
    (dyt, db)
}

/// The input gradient: `dxp` (channels-last padded images, see [`pad_images`]) cropped into
/// `dx` (in `order`), every value of `dx` written (image rows and columns outside the padded
/// images, if a geometry had any, as 0).
fn crop_images(g: &Geom, ts: &Tiles, dxp: &[f32], dx: &mut [MaybeUninit<f32>], order: Order) {
    let (vh, vw) = ts.visible(g);
    if (vh, vw) != (g.h, g.w) {
        dx.fill(MaybeUninit::new(0.0));
    }
    let c = g.c;
    let hw = g.h * g.w;
    for (img, dst) in dxp.chunks_exact(ts.pixels() * c).zip(dx.chunks_exact_mut(order.image_len(c, g.h, g.w))) {
        if let Order::ChannelsLast(p) = order {
            let (origin, row) = order.origin_and_row(c, g.w);
            zero_border(dst, c, g.h, g.w, p);
            for r in 0..vh {
                let src = &img[((g.pad[0] + r) * ts.pw + g.pad[1]) * c..][..vw * c];
                dst[origin + r * row..][..vw * c].iter_mut().zip(src).for_each(|(d, s)| {
                    d.write(*s);
                });
            }
            continue;
        }
        to_planes(c, vh, vw, &img[(g.pad[0] * ts.pw + g.pad[1]) * c..], ts.pw * c, dst, g.w, hw);
    }
}

/// Convolution through Winograd: same contract as `conv_kernels::conv2d_ordered` (`x` `[batch, c, h,
/// w]`, `weight` `[o, c, r, r]`, `bias` `[o]`, stride 1) for a geometry [`plan`] accepted.
#[cfg(test)]
pub(crate) fn conv2d(tf: &Transform, g: &Geom, batch: usize, x: &[f32], weight: &[f32], bias: &[f32], relu: bool) -> Vec<f32> {
    conv2d_ordered(tf, g, batch, x, Order::Planes, weight, bias, relu, false).0
}

/// [`conv2d`] with `x` in `x_order`; the output comes channels-last (and says so) when
/// `channels_last` is asked and the tiles cover the output exactly, NCHW otherwise.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv2d_ordered(
    tf: &Transform,
    g: &Geom,
    batch: usize,
    x: &[f32],
    x_order: Order,
    weight: &[f32],
    bias: &[f32],
    relu: bool,
    channels_last: bool,
) -> (Vec<f32>, Order) {
    let (c, o) = (g.c, bias.len());
    let ts = Tiles::new(g, tf);
    let xp = pad_images(g, &ts, x, 0, batch, x_order);
    let u = weight_transform(tf, weight, o, c);
    let ntiles = batch * ts.per_image();
    let aa = tf.alpha * tf.alpha;
    let tb = block_tiles(tf.alpha, c.max(o));
    let blocks = ntiles.div_ceil(tb);
    // The output channels-last and padded to whole tiles first (whole-vector stores), then
    // transposed into NCHW image row by image row.
    let (hp, wp, n) = (ts.th * ts.m, ts.tw * ts.m, g.ho * g.wo);
    // Handed on channels-last, the tile buffer is the output: a fresh allocation, not a pooled
    // one (taking a buffer out of the pool made the next call regrow one: a memset and page
    // faults per layer). Whole tiles write every value inside its border, which is the layer's
    // own padding (the next layer of a stack shares it).
    let border = if g.pad[0] == g.pad[1] { g.pad[0] } else { 0 };
    let cl = channels_last && (hp, wp) == (g.ho, g.wo);
    let dst = Order::ChannelsLast(if cl { border } else { 0 });
    let len = batch * dst.image_len(o, hp, wp);
    let mut yt = if cl { Vec::with_capacity(len) } else { scratch(len) };
    if cl {
        zero_border(&mut yt.spare_capacity_mut()[..len], o, hp, wp, border);
    }
    let out = Out(yt.as_mut_ptr());
    let par = if blocks < rayon::current_num_threads() { Parallelism::Rayon(0) } else { Parallelism::None };
    (0..blocks).into_par_iter().for_each(|bi| {
        let (t0, nt) = (bi * tb, tb.min(ntiles - bi * tb));
        let (vp, mp) = (pitch(nt * c), pitch(nt * o));
        let mut v = scratch(aa * vp);
        input_transform(tf, &ts, &xp, c, t0, nt, &mut v);
        // M[ξ] = V[ξ]·U[ξ]: [nt, c]·[c, o].
        let mut mm = scratch(aa * mp);
        gemms(aa, nt, o, c, &mut mm, mp, &v, vp, c, 1, &u, c * o, o, 1, false, par);
        output_transform(tf, &ts, &mm, o, t0, nt, bias, relu, out, dst);
        recycle([v, mm]);
    });
    recycle_cow(xp);
    if cl {
        // SAFETY: the tiles cover the output exactly, and `output_transform` wrote each tile's
        // m x m pixels in every channel inside the border `zero_border` wrote: all `len` values.
        unsafe { yt.set_len(len) };
        return (yt, dst);
    }
    let len = batch * o * n;
    // Not zeroed first: the transposes write every value (zeroing was a memset of the whole
    // activation per layer and step).
    let mut y: Vec<f32> = Vec::with_capacity(len);
    y.spare_capacity_mut()[..len].par_chunks_mut((o * n).max(1)).enumerate().for_each(|(b, img)| {
        to_planes(o, g.ho, g.wo, &yt[b * hp * wp * o..], wp * o, img, g.wo, n);
    });
    recycle([yt]);
    // SAFETY: for every image, `to_planes` wrote all o planes of ho x wo values.
    unsafe { y.set_len(len) };
    (y, Order::Planes)
}

/// Gradients of [`conv2d_ordered`] given `dy` `[batch, o, ho, wo]`; `y` is the forward output when the
/// ReLU was applied. Same contract as `conv_kernels::conv2d_backward_ordered`.
/// `x` is in `x_order` (the input gradient comes in the same order), `dy` and `y` in `dy_order`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv2d_backward_ordered(
    tf: &Transform,
    g: &Geom,
    batch: usize,
    x: &[f32],
    x_order: Order,
    weight: &[f32],
    o: usize,
    dy: &[f32],
    y: Option<&[f32]>,
    dy_order: Order,
    want: Wanted,
) -> ConvGrads {
    let (c, r) = (g.c, tf.r);
    let ts = Tiles::new(g, tf);
    let u = if want.x { weight_transform(tf, weight, o, c) } else { Vec::new() };
    // Chunks of whole images (the input gradient's tiles overlap, so a chunk owns its images);
    // their number depends only on the batch, so the sums do not depend on the thread count.
    let bc = batch.div_ceil(16).max(1);
    let aa = tf.alpha * tf.alpha;
    let tb = block_tiles(tf.alpha, c.max(o));
    // The chunks return their weight gradients in the Winograd domain (dU); their sum is
    // transformed back once (the transform is linear), not once per chunk.
    let (x_img, y_img) = (x_order.image_len(c, g.h, g.w), dy_order.image_len(o, g.ho, g.wo));
    let mut grads = super::conv_kernels::backward_chunks(batch, bc, x_img, want, aa * c * o, o, |ci, nb, dxc| {
        let first = ci * bc;
        let range = first * y_img..(first + nb) * y_img;
        let (dyt, db) = dy_tiles(g, &ts, o, &dy[range.clone()], y.map(|y| &y[range]), want.b, dy_order);
        // Tiles and offsets below are relative to the chunk's first image.
        let ntiles = nb * ts.per_image();
        let xp = if want.w { pad_images(g, &ts, x, first, nb, x_order) } else { Cow::Borrowed(&[][..]) };
        let du = accumulate_dx(g, &ts, x_order, nb, dxc, |mut dxp| {
            let mut du = if want.w { vec![0.0f32; aa * c * o] } else { Vec::new() };
            for t0 in (0..ntiles).step_by(tb) {
                let nt = tb.min(ntiles - t0);
                let (vp, mp) = (pitch(nt * c), pitch(nt * o));
                let mut dm = scratch(aa * mp);
                output_transform_adjoint(tf, &ts, &dyt, o, t0, nt, &mut dm);
                if want.w {
                    let mut v = scratch(aa * vp);
                    input_transform(tf, &ts, &xp, c, t0, nt, &mut v);
                    // dU[ξ] += V[ξ]ᵀ·dM[ξ]: [c, nt]·[nt, o].
                    gemms(aa, c, o, nt, &mut du, c * o, &v, vp, 1, c, &dm, mp, o, 1, true, Parallelism::None);
                    recycle([v]);
                }
                if let Some(dxp) = dxp.as_deref_mut() {
                    let mut dv = scratch(aa * vp);
                    // dV[ξ] = dM[ξ]·U[ξ]ᵀ: [nt, o]·[o, c].
                    gemms(aa, nt, c, o, &mut dv, vp, &dm, mp, o, 1, &u, c * o, 1, o, false, Parallelism::None);
                    input_transform_adjoint(tf, &ts, &dv, c, t0, nt, dxp);
                    recycle([dv]);
                }
                recycle([dm]);
            }
            du
        });
        recycle([dyt]);
        recycle_cow(xp);
        (du, db)
    });
    grads.w = grads.w.map(|du| weight_transform_adjoint(tf, &du, o, c));
    debug_assert!(grads.w.as_ref().is_none_or(|w| w.len() == o * c * r * r));
    grads
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct convolution in f64: the reference.
    fn direct(g: &Geom, batch: usize, x: &[f32], w: &[f32], o: usize) -> Vec<f64> {
        let [kh, kw] = g.kernel;
        let mut y = vec![0.0f64; batch * o * g.ho * g.wo];
        for b in 0..batch {
            for oc in 0..o {
                for oh in 0..g.ho {
                    for ow in 0..g.wo {
                        let mut s = 0.0f64;
                        for ch in 0..g.c {
                            for i in 0..kh {
                                for j in 0..kw {
                                    let (r, q) = ((oh + i) as isize - g.pad[0] as isize, (ow + j) as isize - g.pad[1] as isize);
                                    if r >= 0 && q >= 0 && (r as usize) < g.h && (q as usize) < g.w {
                                        s += x[((b * g.c + ch) * g.h + r as usize) * g.w + q as usize] as f64
                                            * w[((oc * g.c + ch) * kh + i) * kw + j] as f64;
                                    }
                                }
                            }
                        }
                        y[((b * o + oc) * g.ho + oh) * g.wo + ow] = s;
                    }
                }
            }
        }
        y
    }

    fn uniform(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
            })
            .collect()
    }

    /// The transforms reproduce 1-D correlation exactly on integers (a check of the matrices
    /// alone, independent of tiling).
    #[test]
    fn transforms_compute_correlation() {
        for tf in [f43(), f25(), f63(), f45()] {
            let a = tf.alpha;
            assert_eq!(a, tf.m + tf.r - 1);
            let d: Vec<f32> = (0..a).map(|i| (i * i) as f32 - 3.0).collect();
            let k: Vec<f32> = (0..tf.r).map(|i| i as f32 + 1.0).collect();
            for i in 0..tf.m {
                let want: f32 = (0..tf.r).map(|q| k[q] * d[i + q]).sum();
                let got: f32 = (0..a)
                    .map(|j| {
                        let gk: f32 = (0..tf.r).map(|q| tf.g[j][q] * k[q]).sum();
                        let bd: f32 = (0..a).map(|u| bt_at(a, j, u) * d[u]).sum();
                        tf.at[i][j] * gk * bd
                    })
                    .sum();
                assert!((got - want).abs() < 1e-4 * want.abs().max(1.0), "F({}, {}): output {i}: {got} vs {want}", tf.m, tf.r);
            }
        }
    }

    /// The plan's choice per layer: 8x8 transforms where their gemms are fewer and the exact
    /// cover stays.
    #[test]
    fn plan_picks_tile_size() {
        let geom = |h: usize, r: usize| Geom { c: 32, h, w: h, kernel: [r, r], stride: [1, 1], pad: [r / 2, r / 2], ho: h, wo: h };
        let m = |h, r, l| plan_with(&geom(h, r), 32, l).map(|t| (t.m, t.alpha));
        use LargeTiles::*;
        // 28x28 (SRCNN's 5x5 layer): F(4, 5) covers exactly, 49 tiles x 64 < 196 x 36.
        assert_eq!(m(28, 5, FiveByFive), Some((4, 8)));
        assert_eq!(m(28, 5, Never), Some((2, 6)));
        // 48x48 photo crops, 3x3: F(6, 3) only when asked (both cover exactly; 64 x 64 < 144 x 36).
        assert_eq!(m(48, 3, FiveByFive), Some((4, 6)));
        assert_eq!(m(48, 3, Always), Some((6, 8)));
        // 28x28, 3x3: F(6, 3) would not cover exactly where F(4, 3) does.
        assert_eq!(m(28, 3, Always), Some((4, 6)));
        // 7x7, 5x5: 4 tiles x 64 < 16 x 36; neither covers exactly.
        assert_eq!(m(7, 5, FiveByFive), Some((4, 8)));
    }

    /// Winograd output against f64 direct convolution: the error bound in the module's doc.
    #[test]
    fn winograd_error_against_f64_direct() {
        // (batch, c, o, h, w, kernel, pad)
        // (batch, c, o, h, w, kernel, pad), each with both transform sizes.
        let shapes = [(2, 48, 48, 20, 19, 3, 1), (3, 64, 32, 13, 17, 5, 2), (1, 16, 16, 5, 6, 3, 0), (2, 64, 32, 28, 28, 5, 2), (2, 48, 48, 24, 24, 3, 1)];
        for ((batch, c, o, h, w, r, pad), large) in shapes.into_iter().flat_map(|s| [(s, false), (s, true)]) {
            let g = Geom { c, h, w, kernel: [r, r], stride: [1, 1], pad: [pad, pad], ho: h + 2 * pad - r + 1, wo: w + 2 * pad - r + 1 };
            assert!(plan_with(&g, o, LargeTiles::Always).is_some(), "a Winograd layer");
            let tf = match (r, large) {
                (3, false) => f43(),
                (3, true) => f63(),
                (_, false) => f25(),
                (_, true) => f45(),
            };
            let x = uniform(batch * c * h * w, 1);
            let wt: Vec<f32> = uniform(o * c * r * r, 2).iter().map(|v| v / (c * r * r) as f32 * 3.0).collect();
            let bias = vec![0.0f32; o];
            let got = conv2d(tf, &g, batch, &x, &wt, &bias, false);
            let want = direct(&g, batch, &x, &wt, o);
            let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let err = |y: &[f32]| y.iter().zip(&want).map(|(a, b)| (*a as f64 - b).abs()).fold(0.0, f64::max) / scale;
            let (err, im2col) = (err(&got), err(&super::super::conv_kernels::conv2d_im2col(&g, batch, &x, &wt, &bias, false)));
            let bound = match (r, large) {
                (3, false) => 1e-5,
                (_, false) => 5e-6,
                _ => 2e-5,
            };
            eprintln!("F({}, {r}) on {batch}x{c}x{h}x{w} -> {o}: relative error {err:.1e} (im2col {im2col:.1e})", tf.m);
            assert!(err < bound, "F({}, {r}) on {batch}x{c}x{h}x{w} -> {o}: relative error {err:e}", tf.m);
        }
    }

    /// The 8x8 transforms' backward (input, weight and bias gradients, through a ReLU) against
    /// the 6x6 ones' for the same layer (those are checked against Burn's in `fused::tests`,
    /// where only F(4, 5) of the 8x8 ones runs by default).
    #[test]
    fn large_tiles_backward_matches_small() {
        for (batch, c, o, h, w, r, pad) in [(3, 48, 48, 21, 19, 3, 1), (2, 32, 16, 24, 24, 3, 1), (2, 64, 32, 28, 28, 5, 2), (17, 16, 24, 13, 11, 5, 2)] {
            let g = Geom { c, h, w, kernel: [r, r], stride: [1, 1], pad: [pad, pad], ho: h + 2 * pad - r + 1, wo: w + 2 * pad - r + 1 };
            let (small, large) = if r == 3 { (f43(), f63()) } else { (f25(), f45()) };
            let x = uniform(batch * c * h * w, 3);
            let wt: Vec<f32> = uniform(o * c * r * r, 4).iter().map(|v| v / (c * r * r) as f32 * 3.0).collect();
            let dy = uniform(batch * o * g.ho * g.wo, 5);
            let bias = uniform(o, 6);
            // One ReLU mask for both (the kink is not what is compared).
            let y = conv2d(small, &g, batch, &x, &wt, &bias, true);
            let want = Wanted { x: true, w: true, b: true };
            let run = |tf| conv2d_backward_ordered(tf, &g, batch, &x, Order::Planes, &wt, o, &dy, Some(&y), Order::Planes, want);
            let (a, b) = (run(small), run(large));
            let err = |p: &Option<Vec<f32>>, q: &Option<Vec<f32>>| {
                let (p, q) = (p.as_ref().unwrap(), q.as_ref().unwrap());
                let scale = p.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                p.iter().zip(q).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max) / scale
            };
            let errs = [("input", err(&a.x, &b.x)), ("weight", err(&a.w, &b.w)), ("bias", err(&a.b, &b.b))];
            for (what, e) in errs {
                assert!(e < 5e-5, "F({}, {r}) on {batch}x{c}x{h}x{w} -> {o}: {what} gradient differs by {e:e}", large.m);
            }
        }
    }
}
