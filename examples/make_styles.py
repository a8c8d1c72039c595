"""Generate the procedural style "paintings" used by the demo.

Every image is drawn from scratch with numpy, scipy and Pillow, so the project
owns them outright and releases them under CC0.  Each painting has its own
fixed random seed, which makes the output reproducible from run to run.

Paintings (written next to this script as ``style_<name>.jpg``):

* ``stained_glass`` - a rose window of Voronoi glass cells with dark leading
* ``starry_swirls`` - flow-field brush strokes in blues and yellows
* ``kandinsky``     - circles, lines and triangles on a mottled ground
* ``marbled``       - concentric swirls of marbled paper
* ``pointillist``   - a sunset seascape made of coloured dots
* ``cubist``        - faceted shards with hatched brushwork
* ``mondrian``      - a red/yellow/blue grid painted with a dry brush

Run with::

    python examples/make_styles.py
"""

import colorsys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage
from scipy.spatial import cKDTree

OUT_DIR = Path(__file__).resolve().parent
SIZE = 512
QUALITY = 88


# --------------------------------------------------------------------------
# Shared helpers: colours, noise and "paint" finishing
# --------------------------------------------------------------------------


def rgb(hex_colour):
    """Convert '#rrggbb' to a float RGB array in [0, 1]."""
    h = hex_colour.lstrip("#")
    return np.array([int(h[i : i + 2], 16) for i in (0, 2, 4)]) / 255.0


def palette(*hex_colours):
    """Return an (n, 3) float array of colours."""
    return np.array([rgb(c) for c in hex_colours])


def smooth_noise(rng, shape, sigma):
    """Gaussian-blurred white noise, normalised to zero mean and unit std."""
    n = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    return (n - n.mean()) / (n.std() + 1e-9)


def fractal_noise(rng, shape, sigmas=(48, 24, 12, 6, 3)):
    """Sum of smooth noises at several scales (larger scales weigh more)."""
    total = sum(smooth_noise(rng, shape, s) * s**0.5 for s in sigmas)
    return total / total.std()


def streaks(rng, shape, angle_deg, length=10.0, width=0.7):
    """Directional noise that looks like brush bristle marks at an angle."""
    big = int(max(shape) * 1.5)
    n = ndimage.gaussian_filter(rng.standard_normal((big, big)), (width, length))
    n = ndimage.rotate(n, angle_deg, reshape=False, order=1)
    y0, x0 = (big - shape[0]) // 2, (big - shape[1]) // 2
    n = n[y0 : y0 + shape[0], x0 : x0 + shape[1]]
    return (n - n.mean()) / (n.std() + 1e-9)


def canvas_weave(shape, period=4.0):
    """A faint woven-canvas pattern in [-1, 1]."""
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]]
    return 0.5 * (
        np.sin(2 * np.pi * x / period) * np.sin(2 * np.pi * y / period) + np.sin(2 * np.pi * (x + y) / (period * 2.3))
    )


def vignette(shape, strength=0.25):
    """Multiplicative darkening towards the corners."""
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]]
    r = np.hypot((x / shape[1] - 0.5) * 2, (y / shape[0] - 0.5) * 2) / np.sqrt(2)
    return 1.0 - strength * r**2.5


def finish(img, rng, grain=0.035, mottle=0.06, weave=0.02, vig=0.2):
    """Add paint mottling, canvas grain and a vignette; return uint8 RGB."""
    shape = img.shape[:2]
    light = 1.0 + mottle * fractal_noise(rng, shape, sigmas=(40, 12, 4))
    light *= 1.0 + weave * canvas_weave(shape)
    light *= vignette(shape, vig)
    out = img * light[..., None] + grain * smooth_noise(rng, shape, 0.6)[..., None]
    return (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)


def downsample(img_float, factor=2):
    """Box-average a supersampled float image (simple anti-aliasing)."""
    h, w = img_float.shape[0] // factor, img_float.shape[1] // factor
    return img_float[: h * factor, : w * factor].reshape(h, factor, w, factor, -1).mean(axis=(1, 3))


def pil_to_float(im):
    """Convert a Pillow image to a float RGB array in [0, 1]."""
    return np.asarray(im.convert("RGB"), dtype=np.float64) / 255.0


def to_rgb255(colour):
    """Convert a float RGB colour to a Pillow (r, g, b) tuple."""
    return tuple(int(v) for v in np.clip(np.asarray(colour) * 255, 0, 255))


def grid(size):
    """Pixel coordinate arrays (y, x) for a square canvas."""
    return np.mgrid[0:size, 0:size].astype(np.float64)


# --------------------------------------------------------------------------
# 1. Stained glass rose window
# --------------------------------------------------------------------------

GLASS = palette("#b3122e", "#1d3f9e", "#e8a317", "#1f7a4d", "#6a2c91", "#0f8a9d", "#d9531e", "#f2d16b")


def rose_window_points(rng, c):
    """Seed points on jittered concentric rings, plus ring/sector labels."""
    pts, rings, sectors = [[c, c]], [0], [0]
    radii = [38, 80, 125, 172, 222, 275, 330, 385]
    counts = [8, 14, 20, 26, 32, 40, 48, 56]
    for ring, (r, n) in enumerate(zip(radii, counts), start=1):
        offset = rng.uniform(0, 2 * np.pi)
        for k in range(n):
            a = offset + 2 * np.pi * (k + rng.uniform(-0.2, 0.2)) / n
            rr = r + rng.uniform(-8, 8)
            pts.append([c + rr * np.sin(a), c + rr * np.cos(a)])
            rings.append(ring)
            sectors.append(k)
    return np.array(pts), np.array(rings), np.array(sectors)


def glass_cell_colours(rng, rings, sectors):
    """Pick a jewel colour per cell: a base colour per ring, alternating."""
    ring_base = rng.permutation(len(GLASS))
    colours = []
    for ring, sector in zip(rings, sectors):
        idx = ring_base[(ring + (sector % 2) * 3) % len(GLASS)]
        if rng.random() < 0.15:
            idx = rng.integers(len(GLASS))
        colours.append(GLASS[idx] * rng.uniform(0.8, 1.15))
    return np.clip(np.array(colours), 0, 1)


def stained_glass(rng):
    """Rose window: Voronoi cells of mottled jewel-coloured glass and lead."""
    y, x = grid(SIZE)
    pts, rings, sectors = rose_window_points(rng, SIZE / 2)
    dist, idx = cKDTree(pts).query(np.stack([y.ravel(), x.ravel()], 1), k=2)
    d1 = dist[:, 0].reshape(y.shape)
    gap = (dist[:, 1] - dist[:, 0]).reshape(y.shape)
    cell = idx[:, 0].reshape(y.shape)

    img = glass_cell_colours(rng, rings, sectors)[cell]
    # mottled, streaky glass that glows towards each cell's middle
    glow = 0.7 + 0.3 * np.clip(gap / 30.0, 0, 1) - 0.002 * np.clip(d1 - 20, 0, 60)
    texture = 1 + 0.12 * smooth_noise(rng, y.shape, 2.5) + 0.08 * streaks(rng, y.shape, 30, 6)
    img *= (glow * texture)[..., None]
    # light coming through from the centre of the window
    r = np.hypot(x - SIZE / 2, y - SIZE / 2) / SIZE
    img *= (1.25 - 0.6 * r)[..., None]

    lead = ndimage.gaussian_filter((gap < 5.0).astype(float), 0.8)
    lead_colour = 0.09 + 0.05 * smooth_noise(rng, y.shape, 1.5)[..., None]
    img = img * (1 - lead[..., None]) + lead_colour * lead[..., None]
    return finish(img, rng, grain=0.02, mottle=0.04, vig=0.35)


# --------------------------------------------------------------------------
# 2. Starry swirls: brush strokes following a flow field
# --------------------------------------------------------------------------

SKY = palette("#0b1f5c", "#173a8a", "#2a5db0", "#4a86c8", "#8fb8de", "#c9dff0")
STAR = palette("#f7e26b", "#f2c230", "#fff6c2", "#e89a2b")
HILLS = palette("#13294b", "#1f4e5f", "#2e6b4f", "#3b3f6e", "#6b8f3a")
CYPRESS = palette("#0d1a12", "#1d3324", "#2f4a2a", "#3a2c1a")


def starry_layout(s):
    """Positions (in a canvas of side s) of the stars, vortices and horizon."""
    stars = [
        (0.16 * s, 0.82 * s, 0.085 * s),
        (0.12 * s, 0.40 * s, 0.035 * s),
        (0.26 * s, 0.60 * s, 0.03 * s),
        (0.08 * s, 0.62 * s, 0.025 * s),
        (0.30 * s, 0.93 * s, 0.03 * s),
        (0.40 * s, 0.47 * s, 0.028 * s),
    ]
    vortices = [(0.36 * s, 0.36 * s, 0.16 * s, 1.0), (0.30 * s, 0.66 * s, 0.12 * s, -0.9)]
    return stars, vortices


def horizon(x, s):
    """Height of the wavy line of hills at column x."""
    return s * (0.70 + 0.04 * np.sin(x / s * 7.0) + 0.025 * np.sin(x / s * 17.0 + 1))


def cypress_halfwidth(y, s):
    """Half-width of the flame-shaped cypress tree at height y (0 = none)."""
    t = np.clip((y - 0.12 * s) / (0.88 * s), 0, 1)
    return 0.075 * s * t**0.8 * (1 + 0.25 * np.sin(y / s * 40))


def starry_flow(rng, s):
    """Angle field: gentle waves, whirlpools, halos around stars, upright tree."""
    y, x = grid(s)
    stars, vortices = starry_layout(s)
    vx = np.ones_like(x) + 0.6 * smooth_noise(rng, x.shape, s / 10)
    vy = 0.45 * np.sin(x / s * 9 + y / s * 4) + 0.4 * smooth_noise(rng, x.shape, s / 12)
    for cy, cx, r, sign in vortices + [(a, b, 2.6 * c, 1.0) for a, b, c in stars]:
        w = 3.0 * abs(sign) * np.exp(-((np.hypot(x - cx, y - cy) / r) ** 2))
        ang = np.arctan2(y - cy, x - cx) + np.pi / 2 * np.sign(sign)
        vx += w * np.cos(ang)
        vy += w * np.sin(ang)
    land = y > horizon(x, s)
    vx[land] = 1.0 + 0.3 * smooth_noise(rng, x.shape, s / 20)[land]
    vy[land] = 0.35 * np.sin(x[land] / s * 10 + y[land] / s * 6)
    tree = np.abs(x - 0.16 * s) < cypress_halfwidth(y, s) * 1.3
    vx[tree], vy[tree] = 0.15 * np.sin(y[tree] / 9.0), -1.0
    return np.arctan2(vy, vx)


def starry_colour(rng, py, px, s):
    """Choose a paint colour for a stroke starting at (py, px)."""
    stars, _ = starry_layout(s)
    for cy, cx, r in stars:
        d = np.hypot(py - cy, px - cx) / r
        if d < 1.0:
            return STAR[rng.integers(3)] * rng.uniform(0.9, 1.05)
        if d < 2.0 and rng.random() < 0.6:
            return STAR[rng.integers(4)] * rng.uniform(0.85, 1.0)
    if abs(px - 0.16 * s) < cypress_halfwidth(py, s):
        return CYPRESS[rng.integers(len(CYPRESS))] * rng.uniform(0.8, 1.2)
    if py > horizon(px, s):
        if rng.random() < 0.08:
            return STAR[rng.integers(4)] * 0.9  # lit windows / ochre touches
        return HILLS[rng.integers(len(HILLS))] * rng.uniform(0.8, 1.15)
    depth = np.clip(1 - py / (0.72 * s), 0, 1)  # 1 at the top, 0 at horizon
    k = int(np.clip((1 - depth) * 5 + rng.normal(0, 1.1), 0, 5))
    if rng.random() < 0.05:
        return STAR[rng.integers(4)] * 0.95
    return SKY[k] * rng.uniform(0.9, 1.1)


def trace_stroke(angle, py, px, steps, step_len):
    """Follow the flow field from (py, px); return a list of (x, y) points."""
    s = angle.shape[0]
    pts = [(px, py)]
    for _ in range(steps):
        a = angle[int(py) % s, int(px) % s]
        px, py = px + step_len * np.cos(a), py + step_len * np.sin(a)
        if not (0 <= px < s and 0 <= py < s):
            break
        pts.append((px, py))
    return pts


def paint_stroke(draw, pts, colour, width):
    """A thick stroke with a lighter and a darker bristle line on top."""
    if len(pts) < 2:
        return
    draw.line(pts, fill=to_rgb255(colour), width=width, joint="curve")
    for shade, off in ((1.18, -0.25), (0.8, 0.25)):
        shifted = [(x + off * width, y + off * width * 0.5) for x, y in pts]
        draw.line(shifted, fill=to_rgb255(colour * shade), width=max(1, width // 4))


def starry_swirls(rng):
    """Night sky of short curved strokes that follow a swirling flow field."""
    s = SIZE * 2  # supersampled canvas
    angle = starry_flow(rng, s)
    im = Image.new("RGB", (s, s), to_rgb255(SKY[1]))
    draw = ImageDraw.Draw(im)
    for n, width, steps in ((2200, 22, 14), (4500, 14, 12), (5000, 9, 9)):
        for _ in range(n):
            py, px = rng.uniform(0, s, 2)
            colour = starry_colour(rng, py, px, s)
            pts = trace_stroke(angle, py, px, steps + rng.integers(-3, 4), 4.0)
            paint_stroke(draw, pts, colour, width + int(rng.integers(-3, 4)))
    img = downsample(pil_to_float(im))
    return finish(img, rng, grain=0.02, mottle=0.05, vig=0.3)


# --------------------------------------------------------------------------
# 3. Kandinsky-like geometric composition
# --------------------------------------------------------------------------


def textured_ground(rng, s):
    """Warm cream ground with cloudy blue-grey and ochre passages."""
    base = rgb("#efe2c4")[None, None] * np.ones((s, s, 3))
    clouds = fractal_noise(rng, (s, s), sigmas=(s / 6, s / 12, s / 24))
    blue = np.clip(clouds - 0.6, 0, None)[..., None] * (rgb("#9fb3c8") - rgb("#efe2c4"))
    ochre = np.clip(-clouds - 0.7, 0, None)[..., None] * (rgb("#e0b46a") - rgb("#efe2c4"))
    return np.clip(base + 0.7 * blue + 0.7 * ochre, 0, 1)


def concentric_circle(draw, cx, cy, radii_colours):
    """Draw concentric discs from the outside in."""
    for r, colour in radii_colours:
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)


def kandinsky_shapes(draw, s):
    """The composition itself, in canvas units of side s."""
    u = s / 100.0

    def k(*v):
        """Scale coordinates given in percent of the canvas to pixels."""
        return [c * u for c in v]

    concentric_circle(
        draw,
        24 * u,
        24 * u,
        [
            (19 * u, (235, 120, 150, 110)),
            (15 * u, (20, 20, 25, 255)),
            (13 * u, (70, 40, 130, 255)),
            (6 * u, (30, 60, 160, 255)),
        ],
    )
    concentric_circle(
        draw, 70 * u, 66 * u, [(12 * u, (250, 205, 40, 230)), (8 * u, (200, 40, 40, 255)), (4 * u, (20, 20, 25, 255))]
    )
    concentric_circle(draw, 80 * u, 22 * u, [(7 * u, (40, 120, 180, 220)), (3 * u, (245, 225, 90, 255))])
    for cx, cy, r, col in (
        (52, 30, 3.5, (200, 40, 40, 230)),
        (38, 80, 5, (30, 30, 30, 230)),
        (15, 60, 4, (240, 160, 40, 230)),
        (88, 85, 2.5, (60, 140, 90, 230)),
    ):
        concentric_circle(draw, cx * u, cy * u, [(r * u, col)])
    draw.polygon(k(8, 95, 40, 45, 52, 95), fill=(245, 200, 50, 200), outline=(20, 20, 25, 255))
    draw.polygon(k(55, 10, 75, 40, 48, 42), fill=(40, 90, 170, 200), outline=(20, 20, 25, 255))
    draw.polygon(k(60, 92, 95, 70, 92, 98), fill=(200, 50, 45, 210))
    for x0, y0, x1, y1, w in (
        (5, 70, 95, 30, 1.6),
        (20, 5, 60, 97, 0.9),
        (45, 55, 98, 58, 0.5),
        (30, 40, 85, 95, 0.5),
        (2, 42, 40, 20, 0.7),
        (60, 3, 98, 46, 1.1),
    ):
        draw.line(k(x0, y0, x1, y1), fill=(20, 20, 25, 255), width=int(w * u))
    for i in range(7):  # a fan of thin parallel lines
        draw.line(k(62 + 2.2 * i, 45, 78 + 2.2 * i, 12), fill=(30, 30, 40, 255), width=int(0.3 * u))
    for i in range(4):  # small checkerboard
        for j in range(3):
            fill = (20, 20, 25, 255) if (i + j) % 2 == 0 else (230, 60, 50, 255)
            draw.rectangle(k(12 + 3 * i, 8 + 3 * j, 15 + 3 * i, 11 + 3 * j), fill=fill)
    draw.arc(k(30, 50, 60, 80), 200, 340, fill=(20, 20, 25, 255), width=int(0.8 * u))
    draw.arc(k(70, 40, 96, 66), 90, 250, fill=(180, 40, 40, 255), width=int(0.6 * u))
    zig = [(u * (45 + 3 * i), u * (88 if i % 2 else 84)) for i in range(10)]
    draw.line(zig, fill=(20, 20, 25, 255), width=int(0.5 * u), joint="curve")


def kandinsky(rng):
    """Geometric abstraction with dry-brush fills on a cloudy cream ground."""
    s = SIZE * 2
    ground = textured_ground(rng, s)
    layer = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    kandinsky_shapes(ImageDraw.Draw(layer), s)
    rgba = np.asarray(layer, dtype=np.float64) / 255.0
    # dry-brush fills: paint coverage varies along horizontal-ish streaks
    alpha = rgba[..., 3] * np.clip(0.9 + 0.12 * streaks(rng, (s, s), 8, 14), 0, 1)
    img = ground * (1 - alpha[..., None]) + rgba[..., :3] * alpha[..., None]
    img = downsample(img)
    return finish(img, rng, grain=0.025, mottle=0.06, vig=0.2)


# --------------------------------------------------------------------------
# 4. Marbled paper: concentric swirls
# --------------------------------------------------------------------------

MARBLE = palette("#1b2a49", "#f4ecd8", "#c0392b", "#e8b03a", "#f4ecd8", "#2a9d8f", "#0f4c5c", "#e76f51")


def twirl(y, x, cy, cx, radius, strength):
    """Rotate points around (cy, cx) by an angle that fades with distance."""
    dy, dx = y - cy, x - cx
    a = strength * np.exp(-((np.hypot(dy, dx) / radius) ** 2))
    c, s = np.cos(a), np.sin(a)
    return cy + c * dy - s * dx, cx + s * dy + c * dx


def marbled(rng):
    """Marbled paper: concentric colour bands dragged into swirls."""
    s = SIZE * 2
    y, x = grid(s)
    y = y + 14 * smooth_noise(rng, y.shape, 40)
    x = x + 14 * smooth_noise(rng, x.shape, 40)
    for _ in range(7):
        cy, cx = rng.uniform(0.1, 0.9, 2) * s
        strength = rng.choice([-1, 1]) * rng.uniform(1.2, 2.8)
        y, x = twirl(y, x, cy, cx, rng.uniform(0.15, 0.3) * s, strength)
    r = np.hypot(y - 0.5 * s, x - 0.5 * s)
    t = r / (0.04 * s) + 0.6 * np.sin(x / s * 12)
    band = np.floor(t).astype(int) % len(MARBLE)
    frac = t - np.floor(t)
    img = MARBLE[band]
    # dark ink veins between bands and soft shading within each band
    vein = np.exp(-((np.minimum(frac, 1 - frac) / 0.05) ** 2))
    img = img * (0.85 + 0.15 * np.sin(np.pi * frac))[..., None]
    img = img * (1 - 0.6 * vein[..., None])
    img = downsample(img)
    return finish(img, rng, grain=0.02, mottle=0.05, vig=0.25)


# --------------------------------------------------------------------------
# 5. Pointillist sunset seascape
# --------------------------------------------------------------------------

HORIZON = 0.55  # height of the sea horizon, as a fraction of the canvas


def sunset_sky(rng, s, y, x):
    """Violet-to-orange sky with pink clouds, a glowing sun and two sails."""
    t = y / s
    sky_t = np.clip(t / HORIZON, 0, 1)[..., None]
    img = rgb("#3b3c8f") * (1 - sky_t) + rgb("#f08a5d") * sky_t
    img = img + np.exp(-(((t - 0.3) / 0.12) ** 2))[..., None] * (rgb("#d86fa0") - img) * 0.6
    clouds = np.repeat(smooth_noise(rng, (s // 6 + 1, s), (4, 40)), 6, axis=0)[:s] > 1.2
    img[clouds & (t < 0.45)] = rgb("#f3b3c6")
    d_sun = np.hypot(x - 0.62 * s, y - 0.44 * s)
    glow = np.exp(-((d_sun / (0.2 * s)) ** 2)) * (t < HORIZON)
    img = img + glow[..., None] * (rgb("#ffb347") - img) * 0.8
    img[d_sun < 0.08 * s] = rgb("#ffe066")
    for cx, h in ((0.3, 0.07), (0.85, 0.05)):
        rise = t - HORIZON + h
        img[(rise > 0) & (t < HORIZON) & (np.abs(x - cx * s) < rise * s * 0.45)] = rgb("#fbf3e0")
    return img


def paint_sea(rng, img, s, y, x):
    """Blue sea with wave crests and the sun's golden reflection."""
    t = y / s
    sea = t >= HORIZON
    waves = np.sin(y / s * 160 + 2 * smooth_noise(rng, (s, s), (2, 30))) > 0.3
    img[sea] = rgb("#1f5fa8") * (1 - t[sea, None] + HORIZON) * 1.1
    img[sea & waves] = rgb("#5fa3d8")
    in_path = np.abs(x - 0.62 * s) < 0.42 * s * (t - 0.45)
    sparkle = waves | (rng.random((s, s)) < 0.3)
    img[sea & in_path & sparkle] = rgb("#ffd36b")


def paint_land(rng, img, s, y, x):
    """Grassy shore in the foreground and a tree on the left."""
    t = y / s
    shore = y > s * (0.8 + 0.05 * np.sin(x / s * 5))
    img[shore] = rgb("#4f8a3b")
    img[shore & (smooth_noise(rng, (s, s), 12) > 0.5)] = rgb("#a9b83f")
    crown = np.hypot((x - 0.13 * s) / 0.9, y - 0.42 * s) + 0.03 * s * smooth_noise(rng, (s, s), 20)
    img[crown < 0.2 * s] = rgb("#1f5e3a")
    img[(crown < 0.2 * s) & (smooth_noise(rng, (s, s), 10) > 0.6)] = rgb("#3f8f4a")
    img[(np.abs(x - 0.13 * s) < 0.014 * s) & (t > HORIZON) & (t < 0.86)] = rgb("#5a3a22")


def seascape(rng, s):
    """A smooth colour map of the sunset scene that the dots sample from."""
    y, x = grid(s)
    img = sunset_sky(rng, s, y, x)
    paint_sea(rng, img, s, y, x)
    paint_land(rng, img, s, y, x)
    return np.clip(img, 0, 1)


def dot_colour(rng, base):
    """Divisionist colour: a purer nearby hue, occasionally the complement."""
    h, sat, v = colorsys.rgb_to_hsv(*base)
    if rng.random() < 0.08:
        h, sat = (h + 0.5) % 1.0, sat * 0.6  # sparse complementary dots
    else:
        h = (h + rng.normal(0, 0.035)) % 1.0
        sat = min(1.0, sat * rng.uniform(1.0, 1.4))
    v = min(1.0, v * rng.uniform(0.85, 1.15))
    return np.array(colorsys.hsv_to_rgb(h, sat, v))


def pointillist(rng):
    """Sunset seascape built from thousands of small coloured dots."""
    s = SIZE * 2
    scene = seascape(rng, s)
    im = Image.new("RGB", (s, s), (236, 226, 204))
    draw = ImageDraw.Draw(im)
    for n, radius in ((9000, 9), (14000, 6.5), (12000, 4.5)):
        for _ in range(n):
            py, px = rng.uniform(0, s, 2)
            colour = dot_colour(rng, scene[int(py), int(px)])
            r = radius * rng.uniform(0.8, 1.2)
            draw.ellipse([px - r, py - r, px + r, py + r], fill=to_rgb255(colour))
    img = downsample(pil_to_float(im))
    return finish(img, rng, grain=0.015, mottle=0.04, vig=0.15)


# --------------------------------------------------------------------------
# 6. Cubist shards
# --------------------------------------------------------------------------

CUBIST = palette("#c8a165", "#8c5a32", "#4a3b2f", "#6d7b82", "#9aa38a", "#e3d3b0", "#b5673a", "#2f3a40")


def shard_labels(rng, s, n_lines=11):
    """Cut the canvas with random straight lines; label each resulting shard."""
    y, x = grid(s)
    label = np.zeros((s, s), dtype=np.int64)
    for _ in range(n_lines):
        cy, cx = rng.uniform(0.15, 0.85, 2) * s
        a = rng.uniform(0, np.pi)
        side = (x - cx) * np.sin(a) - (y - cy) * np.cos(a) > 0
        label = label * 2 + side
    for cy, cx, r in ((0.42, 0.45, 0.16), (0.7, 0.62, 0.09)):  # guitar-like curves
        label = label * 2 + (np.hypot(x - cx * s, y - cy * s) < r * s)
    _, label = np.unique(label, return_inverse=True)
    return label.reshape(s, s)


def cubist(rng):
    """Faceted shards, each shaded along its own direction and hatched."""
    s = SIZE
    y, x = grid(s)
    label = shard_labels(rng, s)
    hatch = [streaks(rng, (s, s), a, 6, width=1.0) for a in (20, 65, 110, 155)]
    img = np.zeros((s, s, 3))
    for lab in range(label.max() + 1):
        m = label == lab
        a = rng.uniform(0, 2 * np.pi)
        ramp = (x * np.cos(a) + y * np.sin(a))[m]
        ramp = (ramp - ramp.min()) / (np.ptp(ramp) + 1e-9)
        shade = 0.6 + 0.55 * ramp + 0.08 * hatch[rng.integers(4)][m]
        img[m] = CUBIST[rng.integers(len(CUBIST))] * shade[:, None]
    edges = ndimage.morphological_gradient(label, size=3) > 0
    edges = ndimage.gaussian_filter(ndimage.binary_dilation(edges).astype(float), 0.8)
    broken = np.clip(1.2 + smooth_noise(rng, (s, s), 10), 0, 1)
    img *= (1 - 0.8 * edges * broken)[..., None]
    return finish(img, rng, grain=0.03, mottle=0.08, vig=0.3)


# --------------------------------------------------------------------------
# 7. Mondrian-like grid with brushy texture
# --------------------------------------------------------------------------

MONDRIAN = {
    "white": rgb("#f1ece0"),
    "red": rgb("#c8281e"),
    "blue": rgb("#1e3c8c"),
    "yellow": rgb("#f0c419"),
    "grey": rgb("#c9c6bd"),
    "black": rgb("#161616"),
}


def split_rects(rng, rect, depth):
    """Recursively split a rectangle (x0, y0, x1, y1) into smaller ones."""
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    if depth == 0 or max(w, h) < 110 or (depth < 3 and rng.random() < 0.3):
        return [rect]
    if w > h or (w == h and rng.random() < 0.5):
        cut = x0 + int(w * rng.uniform(0.3, 0.7))
        parts = [(x0, y0, cut, y1), (cut, y0, x1, y1)]
    else:
        cut = y0 + int(h * rng.uniform(0.3, 0.7))
        parts = [(x0, y0, x1, cut), (x0, cut, x1, y1)]
    return [r for p in parts for r in split_rects(rng, p, depth - 1)]


def mondrian(rng):
    """Red, yellow and blue rectangles in a black grid, with brush texture."""
    s = SIZE
    rects = split_rects(rng, (0, 0, s, s), 5)
    colours = ["white"] * 5 + ["grey", "red", "blue", "yellow"]
    img = np.zeros((s, s, 3))
    texture_h = streaks(rng, (s, s), 0, 12, width=1.2)
    texture_v = streaks(rng, (s, s), 90, 12, width=1.2)
    wobble = smooth_noise(rng, (s, s), 8)
    line = np.zeros((s, s))
    y, x = grid(s)
    for x0, y0, x1, y1 in rects:
        name = colours[rng.integers(len(colours))]
        tex = texture_h if (x1 - x0) > (y1 - y0) else texture_v
        m = (x >= x0) & (x < x1) & (y >= y0) & (y < y1)
        img[m] = MONDRIAN[name] * (1 + 0.07 * tex[m])[:, None]
        half = rng.uniform(4, 7)
        d = np.minimum(np.minimum(np.abs(x - x0), np.abs(x - x1)), np.minimum(np.abs(y - y0), np.abs(y - y1)))
        line = np.maximum(line, (m & (d + 0.8 * wobble < half)).astype(float))
    line = ndimage.gaussian_filter(line, 0.7)
    img = img * (1 - line[..., None]) + MONDRIAN["black"] * line[..., None]
    img *= rgb("#fff6e4")  # a touch of aged varnish
    return finish(img, rng, grain=0.03, mottle=0.06, vig=0.25)


# --------------------------------------------------------------------------

PAINTINGS = {
    "stained_glass": (stained_glass, 11),
    "starry_swirls": (starry_swirls, 22),
    "kandinsky": (kandinsky, 33),
    "marbled": (marbled, 44),
    "pointillist": (pointillist, 55),
    "cubist": (cubist, 66),
    "mondrian": (mondrian, 77),
}


def main():
    """Paint every picture and save it next to this script."""
    for name, (paint, seed) in PAINTINGS.items():
        out = OUT_DIR / f"style_{name}.jpg"
        Image.fromarray(paint(np.random.default_rng(seed))).save(out, quality=QUALITY, optimize=True)
        print(f"{out.name}: {out.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
