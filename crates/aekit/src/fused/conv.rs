//! Convolution and transposed convolution as Burn backend extensions: the kernels of
//! `conv_kernels.rs` for the forward pass and a hand-written backward, in place of Flex's
//! per-image convolutions and Burn's generic convolution backward.
//!
//! [`conv2d`] and [`conv_transpose2d`] take Burn's modules and fall back to the module's own
//! `forward` where the fast path does not apply: fast paths off, not Flex, not f32, groups or
//! dilation other than 1, or no bias.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Dispatch, Flex};
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::nn::PaddingConfig2d;
use burn::prelude::*;
use burn::tensor::activation::relu;
use burn::tensor::DType;

use std::collections::VecDeque;
use std::sync::{Mutex, OnceLock};

use super::conv_kernels::{self as k, Geom, Order, Wanted};
use super::{active, contiguous, shape, tensor, values, FlexTensor};

/// A convolution's settings beyond its tensors.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConvSpec {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    /// Zero rows before the first row, zero columns before the first column.
    pub pad: [usize; 2],
    /// The output's height and width.
    pub out: [usize; 2],
    /// A ReLU applied to the output.
    pub relu: bool,
}

/// Differentiable convolutions (groups 1, dilation 1, with bias).
#[backend_extension(Flex, Autodiff)]
pub trait FlexConvKernels: burn::backend::Backend {
    /// `x` `[B, C, H, W]`, `weight` `[O, C, kh, kw]`, `bias` `[O]` → `[B, O, out]`.
    fn conv2d_fused(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        spec: ConvSpec,
    ) -> FloatTensor<Self>;

    /// `x` `[B, C, H, W]`, `weight` `[C, O, kh, kw]`, `bias` `[O]` → `[B, O, out]`.
    fn conv_transpose2d_fused(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        spec: ConvSpec,
    ) -> FloatTensor<Self>;
}

fn dims4(t: &FlexTensor) -> [usize; 4] {
    let s = shape(t);
    [s[0], s[1], s[2], s[3]]
}

/// The geometry of a convolution of `x` by `w`.
fn conv_geom(x: &FlexTensor, spec: ConvSpec) -> Geom {
    let [_, c, h, w] = dims4(x);
    Geom {
        c,
        h,
        w,
        kernel: spec.kernel,
        stride: spec.stride,
        pad: spec.pad,
        ho: spec.out[0],
        wo: spec.out[1],
    }
}

/// The geometry of a transposed convolution: the image is its output, the grid its input `x`.
fn conv_t_geom(x: &FlexTensor, out_channels: usize, spec: ConvSpec) -> Geom {
    let [_, _, hi, wi] = dims4(x);
    Geom {
        c: out_channels,
        h: spec.out[0],
        w: spec.out[1],
        kernel: spec.kernel,
        stride: spec.stride,
        pad: spec.pad,
        ho: hi,
        wo: wi,
    }
}

/// Whether Winograd layers hand their outputs on channels-last (see [`Order`]).
/// `AEKIT_CHANNELS_LAST=0` keeps every activation NCHW, for comparisons.
fn channels_last_on() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("AEKIT_CHANNELS_LAST").map_or(true, |v| v.trim() != "0"))
}

/// The bordered buffers [`ordered`] made, by storage address and length, with their border:
/// the kernels read a border as zero padding only where they made it (a centred slice of any
/// channels-last tensor has the same strides, and real pixels around it). Bounded: a buffer
/// looked up after 256 newer ones is read through a copy instead, which is only slower.
static BORDERED: Mutex<VecDeque<(usize, usize, usize)>> = Mutex::new(VecDeque::new());

fn storage_key(t: &FlexTensor) -> (usize, usize) {
    let v = t.storage::<f32>();
    (v.as_ptr() as usize, v.len())
}

fn remember_border(t: &FlexTensor, p: usize) {
    let (addr, len) = storage_key(t);
    let mut known = BORDERED.lock().unwrap_or_else(|e| e.into_inner());
    known.retain(|k| (k.0, k.1) != (addr, len));
    if known.len() == 256 {
        known.pop_front();
    }
    known.push_back((addr, len, p));
}

fn made_with_border(t: &FlexTensor, p: usize) -> bool {
    let (addr, len) = storage_key(t);
    BORDERED.lock().unwrap_or_else(|e| e.into_inner()).iter().any(|k| *k == (addr, len, p))
}

/// The border `p` when `t` is the view [`ordered`] makes of channels-last values in a border of
/// `p` pixels: shape `[B, C, H, W]`, strides `[(H + 2p)(W + 2p)C, 1, (W + 2p)C, C]`, starting
/// at pixel (p, p) of an image, and for `p > 0` a buffer `ordered` made with that border.
/// Dimensions of size 1 may have any stride.
fn channels_last_border(t: &FlexTensor) -> Option<usize> {
    let l = t.layout();
    let d = l.shape().to_vec();
    if d.len() != 4 || t.dtype() != DType::F32 || d[1] < 2 || l.contiguous_offsets().is_some() {
        return None;
    }
    let (c, h, w) = (d[1], d[2], d[3]);
    let st = l.strides();
    let row = if h > 1 { usize::try_from(st[2]).ok()? } else { w * c };
    let p = (row / c).checked_sub(w).filter(|e| row % c == 0 && e % 2 == 0)? / 2;
    let want = [(h + 2 * p) * (w + 2 * p) * c, 1, (w + 2 * p) * c, c];
    let strides_match = st.iter().zip(want).zip(&d).all(|((s, w), n)| *n <= 1 || *s == w as isize);
    let base = l.start_offset().checked_sub((p * (w + 2 * p) + p) * c)?;
    (strides_match && base + d[0] * want[0] <= t.storage::<f32>().len() && (p == 0 || made_with_border(t, p))).then_some(p)
}

/// `t` unchanged when it is NCHW or channels-last, else copied to NCHW.
fn normalize(t: FlexTensor) -> FlexTensor {
    if t.layout().contiguous_offsets().is_some() || channels_last_border(&t).is_some() {
        t
    } else {
        t.to_contiguous()
    }
}

/// The values of a [`normalize`]d `[B, C, H, W]` tensor and their order: for channels-last, the
/// whole bordered images.
fn activation(t: &FlexTensor) -> (&[f32], Order) {
    if t.layout().contiguous_offsets().is_some() {
        return (values(t), Order::Planes);
    }
    let p = channels_last_border(t).expect("fused convolutions take NCHW or channels-last tensors");
    let [b, c, h, w] = dims4(t);
    let order = Order::ChannelsLast(p);
    let base = t.layout().start_offset() - order.origin_and_row(c, w).0;
    (&t.storage::<f32>()[base..base + b * order.image_len(c, h, w)], order)
}

/// `t` with its values in order `to` (copied through aekit's transposes, which are faster than
/// Flex's general strided copy, unless they already are).
fn in_order(t: FlexTensor, to: Order) -> FlexTensor {
    let t = normalize(t);
    match activation(&t) {
        (_, order) if order == to => t,
        (v, order) => {
            let dims = dims4(&t);
            let [_, c, h, w] = dims;
            ordered(k::reorder(v, order, to, c, h, w).into_owned(), to, dims)
        }
    }
}

/// `t` as a contiguous NCHW tensor.
fn planar(t: FlexTensor) -> FlexTensor {
    in_order(t, Order::Planes)
}

/// `[B, C, H, W]` values in `order` as a tensor of that shape: for channels-last, the interior
/// of `[B, H + 2p, W + 2p, C]`, permuted.
fn ordered(v: Vec<f32>, order: Order, [b, c, h, w]: [usize; 4]) -> FlexTensor {
    match order {
        Order::Planes => tensor(v, vec![b, c, h, w]),
        Order::ChannelsLast(p) => {
            let t = tensor(v, vec![b, h + 2 * p, w + 2 * p, c]);
            if p > 0 {
                remember_border(&t, p);
            }
            t.narrow(1, p, h).narrow(2, p, w).permute(&[0, 3, 1, 2])
        }
    }
}

/// `x` as the convolution's kernels take it: as it is (NCHW or channels-last) where they read
/// channels-last, NCHW otherwise.
fn conv_input(x: FlexTensor, w: &FlexTensor, spec: ConvSpec) -> FlexTensor {
    let x = normalize(x);
    let o = shape(w)[0];
    if k::takes_channels_last(&conv_geom(&x, spec), o, channels_last_on()) {
        x
    } else {
        planar(x)
    }
}

fn conv_forward(x: &FlexTensor, w: &FlexTensor, b: &FlexTensor, spec: ConvSpec) -> FlexTensor {
    let g = conv_geom(x, spec);
    let (batch, o) = (dims4(x)[0], shape(b)[0]);
    let (xv, xo) = activation(x);
    let (y, yo) = k::conv2d_ordered(&g, batch, xv, xo, values(w), values(b), spec.relu, channels_last_on());
    ordered(y, yo, [batch, o, spec.out[0], spec.out[1]])
}

fn conv_t_forward(x: &FlexTensor, w: &FlexTensor, b: &FlexTensor, spec: ConvSpec) -> FlexTensor {
    let o = shape(b)[0];
    let g = conv_t_geom(x, o, spec);
    let batch = dims4(x)[0];
    let (xv, xo) = activation(x);
    let (y, yo) = k::conv_transpose2d_ordered(&g, batch, xv, xo, values(w), values(b), spec.relu, channels_last_on());
    ordered(y, yo, [batch, o, spec.out[0], spec.out[1]])
}

/// A transposed convolution's input as its kernels take it: borderless channels-last for the
/// channels-last kernels (a grid of one channel stays NCHW, the same values), NCHW otherwise.
fn conv_t_input(x: FlexTensor) -> FlexTensor {
    let to = if !channels_last_on() || dims4(&x)[1] == 1 { Order::Planes } else { Order::ChannelsLast(0) };
    in_order(x, to)
}

impl FlexConvKernels for Flex {
    fn conv2d_fused(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        spec: ConvSpec,
    ) -> FlexTensor {
        let weight = contiguous(weight);
        conv_forward(&conv_input(x, &weight, spec), &weight, &contiguous(bias), spec)
    }

    fn conv_transpose2d_fused(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        spec: ConvSpec,
    ) -> FlexTensor {
        conv_t_forward(&conv_t_input(x), &contiguous(weight), &contiguous(bias), spec)
    }
}

#[derive(Debug)]
struct ConvBackward {
    transposed: bool,
}

impl Backward<Flex, 3> for ConvBackward {
    /// The input, the weight, the bias's length, the spec and, after a ReLU, the output.
    type State = (FlexTensor, FlexTensor, usize, ConvSpec, Option<FlexTensor>);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_w, node_b] = ops.parents;
        let dy = normalize(grads.consume::<Flex>(&ops.node));
        let (x, w, o, spec, y) = ops.state;
        let want = Wanted {
            x: node_x.is_some(),
            w: node_w.is_some(),
            b: node_b.is_some(),
        };
        let batch = dims4(&x)[0];
        let ((xv, x_order), y) = (activation(&x), y.as_ref().map(activation));
        // dy in the order of the forward's output (y's), where the consumer's gradient came in
        // the other one.
        let (dyv, dyo) = activation(&dy);
        let to = y.map_or(dyo, |(_, yo)| yo);
        let dyv = k::reorder(dyv, dyo, to, o, spec.out[0], spec.out[1]);
        let (yv, cl) = (y.map(|(v, _)| v), channels_last_on());
        // The input gradient comes in the input's order.
        let g = if self.transposed {
            k::conv_transpose2d_backward_ordered(&conv_t_geom(&x, o, spec), batch, xv, x_order, values(&w), &dyv, yv, to, want, cl)
        } else {
            k::conv2d_backward_ordered(&conv_geom(&x, spec), batch, xv, x_order, values(&w), o, &dyv, yv, to, want, cl)
        };
        if let (Some(node), Some(dx)) = (node_x, g.x) {
            grads.register::<Flex>(node.id, ordered(dx, x_order, dims4(&x)));
        }
        if let (Some(node), Some(dw)) = (node_w, g.w) {
            grads.register::<Flex>(node.id, tensor(dw, shape(&w)));
        }
        if let (Some(node), Some(db)) = (node_b, g.b) {
            grads.register::<Flex>(node.id, tensor(db, vec![o]));
        }
    }
}

fn conv_tracked<C: CheckpointStrategy>(
    x: FloatTensor<Autodiff<Flex, C>>,
    w: FloatTensor<Autodiff<Flex, C>>,
    b: FloatTensor<Autodiff<Flex, C>>,
    spec: ConvSpec,
    transposed: bool,
) -> FloatTensor<Autodiff<Flex, C>> {
    let parents = [x.node(), w.node(), b.node()];
    let (w, b) = (contiguous(w.into_primitive()), contiguous(b.into_primitive()));
    let x = if transposed { conv_t_input(x.into_primitive()) } else { conv_input(x.into_primitive(), &w, spec) };
    let out = if transposed {
        conv_t_forward(&x, &w, &b, spec)
    } else {
        conv_forward(&x, &w, &b, spec)
    };
    let o = shape(&b)[0];
    match (ConvBackward { transposed })
        .prepare::<C>(parents)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let y = spec.relu.then(|| out.clone());
            prep.finish((x, w, o, spec, y), out)
        }
        OpsKind::UnTracked(prep) => prep.finish(out),
    }
}

impl<C: CheckpointStrategy> FlexConvKernels for Autodiff<Flex, C> {
    fn conv2d_fused(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        spec: ConvSpec,
    ) -> FloatTensor<Self> {
        conv_tracked::<C>(x, weight, bias, spec, false)
    }

    fn conv_transpose2d_fused(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        spec: ConvSpec,
    ) -> FloatTensor<Self> {
        conv_tracked::<C>(x, weight, bias, spec, true)
    }
}

/// Burn's "same" padding: (before, after) for one side.
fn same_padding(kernel: usize, stride: usize, size: usize) -> (usize, usize) {
    let out = size.div_ceil(stride);
    let total = if out > 0 {
        ((out - 1) * stride + kernel).saturating_sub(size)
    } else {
        0
    };
    (total / 2, total - total / 2)
}

/// Whether the fused kernels may run `x` (and the module's weights).
fn applies(x: &Tensor<4>, weight: &Tensor<4>, groups: usize, dilation: [usize; 2]) -> bool {
    active(&x.device())
        && x.dtype() == DType::F32
        && weight.dtype() == DType::F32
        && groups == 1
        && dilation == [1, 1]
}

/// `conv.forward(x)`, through the fused kernels where they apply.
///
/// # Shapes
/// `x`: `[B, C, H, W]` → `[B, O, H', W']`
pub fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    run(conv, x, false)
}

/// `relu(conv.forward(x))`, with the ReLU inside the fused kernels where they apply.
///
/// # Shapes
/// `x`: `[B, C, H, W]` → `[B, O, H', W']`
pub fn conv2d_relu(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    run(conv, x, true)
}

/// `conv.forward(x)` for a transposed convolution, through the fused kernels where they apply.
///
/// # Shapes
/// `x`: `[B, C, H, W]` → `[B, O, H', W']`
pub fn conv_transpose2d(conv: &ConvTranspose2d, x: Tensor<4>) -> Tensor<4> {
    run(conv, x, false)
}

/// `relu(conv.forward(x))` for a transposed convolution, with the ReLU inside the fused kernels
/// where they apply.
///
/// # Shapes
/// `x`: `[B, C, H, W]` → `[B, O, H', W']`
pub fn conv_transpose2d_relu(conv: &ConvTranspose2d, x: Tensor<4>) -> Tensor<4> {
    run(conv, x, true)
}

/// What the wrappers need from Burn's two convolution modules.
pub(super) trait ConvModule {
    const TRANSPOSED: bool;
    /// The fused kernels' geometry for `x`, or `None` where Burn's own forward must report an
    /// error.
    fn spec(&self, x: &Tensor<4>, relu: bool) -> Option<ConvSpec>;
    fn groups_dilation(&self) -> (usize, [usize; 2]);
    fn plain(&self, x: Tensor<4>) -> Tensor<4>;
    fn weight(&self) -> Tensor<4>;
    fn bias(&self) -> Option<Tensor<1>>;
}

fn run<M: ConvModule>(m: &M, x: Tensor<4>, relu_after: bool) -> Tensor<4> {
    let plain = |x: Tensor<4>| {
        let y = m.plain(x);
        if relu_after {
            relu(y)
        } else {
            y
        }
    };
    if !active(&x.device()) {
        // Not Flex (`chosen` implies the fast paths are on): the convolution as a matrix product
        // where it is asked for (see matmul_conv). Parameters were drawn on the host before the
        // model moved there, so touching the weight first changes no draw.
        if super::matmul_conv::chosen() && m.groups_dilation() == (1, [1, 1]) {
            if let Some(spec) = m.spec(&x, false) {
                let (w, b) = (m.weight(), m.bias());
                let y = if M::TRANSPOSED {
                    super::matmul_conv::conv_transpose2d(x, w, b, &spec)
                } else {
                    super::matmul_conv::conv2d(x, w, b, &spec)
                };
                return if relu_after { relu(y) } else { y };
            }
        }
        return plain(x); // Burn's own path, parameters untouched before it
    }
    // Burn initializes parameters lazily, on their first `val()`, from the device's random
    // stream: the weight must be touched before the bias, as Burn's own forward does, or a
    // seed would give other initial weights than the plain path.
    let weight = m.weight();
    let (groups, dilation) = m.groups_dilation();
    let fast = if applies(&x, &weight, groups, dilation) { m.bias() } else { None };
    let (Some(bias), Some(spec)) = (fast, m.spec(&x, relu_after)) else {
        return plain(x);
    };
    let (x, w, b) = (x.into_dispatch(), weight.into_dispatch(), bias.into_dispatch());
    Tensor::from_dispatch(if M::TRANSPOSED {
        <Dispatch as FlexConvKernels>::conv_transpose2d_fused(x, w, b, spec)
    } else {
        <Dispatch as FlexConvKernels>::conv2d_fused(x, w, b, spec)
    })
}

/// The accessors both modules spell the same way (Burn gives them the same field names).
macro_rules! same_fields {
    () => {
        fn plain(&self, x: Tensor<4>) -> Tensor<4> {
            self.forward(x)
        }
        fn weight(&self) -> Tensor<4> {
            self.weight.val()
        }
        fn bias(&self) -> Option<Tensor<1>> {
            self.bias.as_ref().map(|b| b.val())
        }
        fn groups_dilation(&self) -> (usize, [usize; 2]) {
            (self.groups, self.dilation)
        }
    };
}

impl ConvModule for Conv2d {
    const TRANSPOSED: bool = false;

    fn spec(&self, x: &Tensor<4>, relu: bool) -> Option<ConvSpec> {
        let [_, _, h, w] = x.dims();
        let [kh, kw] = self.kernel_size;
        let [sh, sw] = self.stride;
        let ((top, bottom), (left, right)) = match self.padding {
            PaddingConfig2d::Valid => ((0, 0), (0, 0)),
            PaddingConfig2d::Same => (same_padding(kh, sh, h), same_padding(kw, sw, w)),
            PaddingConfig2d::Explicit(t, l, b, r) => ((t, b), (l, r)),
        };
        if h + top + bottom < kh || w + left + right < kw || sh == 0 || sw == 0 {
            return None; // Burn's own forward reports the error
        }
        let out = [(h + top + bottom - kh) / sh + 1, (w + left + right - kw) / sw + 1];
        Some(ConvSpec { kernel: [kh, kw], stride: [sh, sw], pad: [top, left], out, relu })
    }
    same_fields!();
}

impl ConvModule for ConvTranspose2d {
    const TRANSPOSED: bool = true;

    fn spec(&self, x: &Tensor<4>, relu: bool) -> Option<ConvSpec> {
        let [_, _, h, w] = x.dims();
        let [kh, kw] = self.kernel_size;
        let [sh, sw] = self.stride;
        let [ph, pw] = self.padding;
        let [oh, ow] = self.padding_out;
        if h == 0 || w == 0 {
            return None;
        }
        let (full_h, full_w) = ((h - 1) * sh + kh + oh, (w - 1) * sw + kw + ow);
        if full_h <= 2 * ph || full_w <= 2 * pw {
            return None; // Burn's own forward reports the error
        }
        let out = [full_h - 2 * ph, full_w - 2 * pw];
        Some(ConvSpec { kernel: [kh, kw], stride: [sh, sw], pad: [ph, pw], out, relu })
    }
    same_fields!();
}
