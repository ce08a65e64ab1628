"""The simulator's settings: one flat, frozen, validated dataclass (vary it with ``dataclasses.replace``).

Conventions: images are [row, col]; x = column, y = row, in px, origin at the centre of the top-left
pixel. Lengths carry their unit in the name (``_nm``, ``_px``), times are in s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SHAPE_KINDS: tuple[str, ...] = ("sphere", "ellipsoid", "polyhedron", "prism", "rod")
ARRANGEMENTS: tuple[str, ...] = ("random", "clustered", "agglomerated", "ring", "chain")
MODES: tuple[str, ...] = ("haadf", "bf")
MASK_KINDS: tuple[str, ...] = ("uniform", "line-hop")

#: Largest fraction of the field of view the particles' projected discs may cover on average.
MAX_COVERAGE = 0.6


@dataclass(frozen=True)
class SimConfig:
    """Every setting of a simulated frame or video, each with its unit.

    Field of view and dose
        shape: (rows, cols) of a frame (px).
        pixel_size_nm: size of one pixel (nm/px).
        mode: "haadf" (HAADF-STEM: bright particles on a dim support) or "bf" (bright-field TEM: dark
            particles on a bright support).
        dose_e_per_px: mean number of incident electrons per pixel (e/px); 1 to 1000 is the useful range.

    Population (frame 0)
        n_particles: expected number of particle centres inside the field of view at frame 0 (count).
        radius_median_nm: median of the lognormal volume-equivalent radius (nm).
        radius_sigma: standard deviation of ln(radius) (dimensionless, 0 = monodisperse).
        radius_min_nm: smallest radius drawn; particles that shrink below it dissolve (nm).
        shape_weights: relative frequency of each shape: "sphere", "ellipsoid" (random in-plane axis
            ratio up to ``aspect_ratio_max``), "polyhedron" (faceted Wulff-like polyhedra, randomly
            oriented in 3-D), "prism" (flat triangular/square/hexagonal platelets), "rod" (spherocylinders
            lying on the support). Pairs (kind, weight); weights >= 0, not all 0.
        aspect_ratio_max: largest in-plane axis ratio of ellipsoids (>= 1, dimensionless).
        rod_aspect_max: largest rod length / rod radius (>= 1.5, dimensionless).
        arrangement: "random" (uniform, non-overlapping where possible), "clustered" (Gaussian clusters,
            overlaps allowed), "agglomerated" (clusters of touching and overlapping particles),
            "ring" (particles on circles) or "chain" (touching particles along wandering lines).
        cluster_size_mean: mean number of particles per cluster, ring or chain (count).
        cluster_radius_nm: standard deviation of a Gaussian cluster; radius scale of rings (nm).
        overlap_max: agglomerates: centre distance >= (1 - overlap_max) * (r1 + r2) (0 = touching only;
            dimensionless, < 1).
        z_contrast: mean Z-contrast factor of the particles (multiplies ``particle_signal_per_nm``;
            dimensionless).
        z_contrast_spread: standard deviation of ln(Z-contrast factor) between particles
            (dimensionless).

    Image formation
        particle_signal_per_nm: HAADF: fraction of the dose scattered onto the detector per nm of projected
            particle thickness (1/nm), times the particle's Z-contrast factor.
        support_signal_fraction: HAADF: mean fraction of the dose the support scatters onto the detector
            (dimensionless).
        support_texture_rms: relative RMS of the fine amorphous-support texture (dimensionless).
        support_correlation_nm: correlation length of the fine texture (nm).
        support_undulation_rms: standard deviation of ln(support thickness) of the slow variation
            (lognormal; about its relative RMS when small; dimensionless).
        support_undulation_nm: correlation length of the slow, smooth variation (nm).
        support_coverage: fraction of the field covered by the support (0 < c <= 1); the rest is
            vacuum (holes, support edges) where the slow variation is lowest; particles sit on the
            support only (dimensionless).
        bf_contrast_scale: BF: the transmitted fraction is exp(-scale * HAADF scattering fraction)
            (dimensionless; accounts for the objective aperture cutting diffracted electrons).
        bf_phase_contrast: BF: extra relative modulation of the transmitted intensity by the support
            texture (phase contrast of the amorphous support; dimensionless, 0 = none).
        probe_fwhm_nm: full width at half maximum of the Gaussian probe (nm).
        gain_counts_per_e: detector counts per detected electron (counts/e).
        offset_counts: detector offset added to every pixel (counts).
        read_noise_counts: standard deviation of the Gaussian read noise (counts).
        poisson_exact_below: pixels whose expected electron count is below this value get exact Poisson
            draws; above it a Gaussian with the Poisson variance (indistinguishable there, much faster)
            (electrons).
        contaminant_rate: expected number of large contaminant blobs per field of view, unlabelled,
            bright in HAADF and dark in BF (count).
        contaminant_size_nm: typical diameter of a contaminant blob (nm).
        contaminant_signal_fraction: peak scattering fraction of a contaminant (dimensionless).

    Scan artefacts
        line_jitter_px: standard deviation of the random x shift of each scan line (px).
        flyback_amplitude_px: x displacement of the first column of every line, decaying along the line
            (px; pixel column c samples x = c - amplitude * exp(-c / decay)).
        flyback_decay_px: decay length of the flyback distortion (px, > 0).
        drift_nm_per_s: (vx, vy) velocity of the whole scene (stage drift) between frames (nm/s).

    Dynamics (videos)
        frame_interval_s: time between frames (s).
        diffusion_nm2_per_s: Brownian diffusion coefficient of a particle of the median radius (nm^2/s).
        diffusion_size_exponent: D = diffusion * (radius_median / radius) ** exponent (dimensionless).
        merge_probability: probability per frame that two particles in contact coalesce (0..1).
        contact_gap_nm: extra centre distance still counted as contact (nm).
        growth_nm_per_s: uniform growth of every radius (nm/s; negative = dissolution).
        ostwald_rate_nm3_per_s: LSW ripening constant K: dr/dt = K / r * (1 / r_mean - 1 / r) (nm^3/s).
        nucleation_per_um2_per_s: rate of new nuclei per area and time (1/(um^2 s)).
        nucleus_radius_nm: radius of a new nucleus (nm).
        split_probability: probability per particle and frame of breaking into two (0..1).

    Sparse scan
        sparse_fraction: fraction of pixels sampled (0 < f <= 1; 1 = full frame, no mask).
        sparse_kind: "uniform" (random pixels) or "line-hop" (one pixel per column in each band of
            floor(1 / fraction) rows, hopping randomly between rows along the line).
    """

    shape: tuple[int, int] = (512, 512)
    pixel_size_nm: float = 0.25
    mode: str = "haadf"
    dose_e_per_px: float = 300.0

    n_particles: float = 150.0
    radius_median_nm: float = 1.2
    radius_sigma: float = 0.3
    radius_min_nm: float = 0.3
    shape_weights: tuple[tuple[str, float], ...] = (
        ("sphere", 0.35),
        ("ellipsoid", 0.3),
        ("polyhedron", 0.25),
        ("prism", 0.05),
        ("rod", 0.05),
    )
    aspect_ratio_max: float = 1.6
    rod_aspect_max: float = 5.0
    arrangement: str = "random"
    cluster_size_mean: float = 8.0
    cluster_radius_nm: float = 6.0
    overlap_max: float = 0.2
    z_contrast: float = 1.0
    z_contrast_spread: float = 0.1

    particle_signal_per_nm: float = 0.045
    support_signal_fraction: float = 0.2
    support_texture_rms: float = 0.05
    support_correlation_nm: float = 0.4
    support_undulation_rms: float = 0.45
    support_undulation_nm: float = 30.0
    support_coverage: float = 1.0
    bf_contrast_scale: float = 2.5
    bf_phase_contrast: float = 0.3
    probe_fwhm_nm: float = 0.45
    gain_counts_per_e: float = 1.0
    offset_counts: float = 0.0
    read_noise_counts: float = 0.5
    poisson_exact_below: float = 12.0
    contaminant_rate: float = 0.1
    contaminant_size_nm: float = 15.0
    contaminant_signal_fraction: float = 0.05

    line_jitter_px: float = 0.0
    flyback_amplitude_px: float = 0.0
    flyback_decay_px: float = 20.0
    drift_nm_per_s: tuple[float, float] = (0.0, 0.0)

    frame_interval_s: float = 0.1
    diffusion_nm2_per_s: float = 0.8
    diffusion_size_exponent: float = 1.0
    merge_probability: float = 0.04
    contact_gap_nm: float = 0.0
    growth_nm_per_s: float = 0.0
    ostwald_rate_nm3_per_s: float = 0.0
    nucleation_per_um2_per_s: float = 0.0
    nucleus_radius_nm: float = 0.6
    split_probability: float = 0.0

    sparse_fraction: float = 1.0
    sparse_kind: str = "uniform"

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ValueError("SimConfig: " + "; ".join(problems))

    @property
    def fov_area_nm2(self) -> float:
        """Return the area of the field of view (nm^2)."""
        return self.shape[0] * self.shape[1] * self.pixel_size_nm**2

    def expected_coverage(self) -> float:
        """Return the expected fraction of the support area covered by the particles' projected
        discs."""
        mean_r2 = self.radius_median_nm**2 * math.exp(2 * self.radius_sigma**2)
        support_area = self.fov_area_nm2 * max(self.support_coverage, 1e-9)
        return self.n_particles * math.pi * mean_r2 / support_area


def field_docs() -> dict[str, str]:
    """Return the documentation of every SimConfig field, parsed from the class docstring."""
    docs: dict[str, str] = {}
    current = ""
    for line in (SimConfig.__doc__ or "").splitlines():
        text = line.strip()
        head, sep, rest = text.partition(":")
        if sep and line.startswith(" " * 8) and not line.startswith(" " * 12):
            for name in (n.strip() for n in head.split(",")):
                if name.isidentifier():
                    docs[name] = rest.strip()
            current = head
        elif current and line.startswith(" " * 12):
            for name in (n.strip() for n in current.split(",")):
                if name in docs:
                    docs[name] += " " + text
    return docs


def _problems(c: SimConfig) -> list[str]:
    """Return human-readable descriptions of every invalid setting (empty when valid)."""
    p: list[str] = []
    if len(c.shape) != 2 or min(c.shape) < 8:
        p.append(f"shape must be (rows, cols) with both >= 8 px, not {c.shape}")
    positive = {
        "pixel_size_nm": c.pixel_size_nm,
        "radius_median_nm": c.radius_median_nm,
        "radius_min_nm": c.radius_min_nm,
        "aspect_ratio_max": c.aspect_ratio_max,
        "cluster_size_mean": c.cluster_size_mean,
        "cluster_radius_nm": c.cluster_radius_nm,
        "z_contrast": c.z_contrast,
        "support_correlation_nm": c.support_correlation_nm,
        "support_undulation_nm": c.support_undulation_nm,
        "probe_fwhm_nm": c.probe_fwhm_nm,
        "gain_counts_per_e": c.gain_counts_per_e,
        "contaminant_size_nm": c.contaminant_size_nm,
        "flyback_decay_px": c.flyback_decay_px,
        "frame_interval_s": c.frame_interval_s,
        "nucleus_radius_nm": c.nucleus_radius_nm,
        "bf_contrast_scale": c.bf_contrast_scale,
    }
    p += [f"{k} must be > 0, not {v}" for k, v in positive.items() if not v > 0]
    non_negative = {
        "dose_e_per_px": c.dose_e_per_px,
        "n_particles": c.n_particles,
        "radius_sigma": c.radius_sigma,
        "overlap_max": c.overlap_max,
        "z_contrast_spread": c.z_contrast_spread,
        "particle_signal_per_nm": c.particle_signal_per_nm,
        "support_signal_fraction": c.support_signal_fraction,
        "support_texture_rms": c.support_texture_rms,
        "support_undulation_rms": c.support_undulation_rms,
        "read_noise_counts": c.read_noise_counts,
        "poisson_exact_below": c.poisson_exact_below,
        "contaminant_rate": c.contaminant_rate,
        "contaminant_signal_fraction": c.contaminant_signal_fraction,
        "bf_phase_contrast": c.bf_phase_contrast,
        "line_jitter_px": c.line_jitter_px,
        "flyback_amplitude_px": c.flyback_amplitude_px,
        "diffusion_nm2_per_s": c.diffusion_nm2_per_s,
        "contact_gap_nm": c.contact_gap_nm,
        "ostwald_rate_nm3_per_s": c.ostwald_rate_nm3_per_s,
        "nucleation_per_um2_per_s": c.nucleation_per_um2_per_s,
    }
    p += [f"{k} must be >= 0, not {v}" for k, v in non_negative.items() if not v >= 0]
    if c.dose_e_per_px == 0:
        p.append("dose_e_per_px must be > 0 (electrons per pixel), not 0")
    if c.mode not in MODES:
        p.append(f"mode must be one of {MODES}, not {c.mode!r}")
    if c.arrangement not in ARRANGEMENTS:
        p.append(f"arrangement must be one of {ARRANGEMENTS}, not {c.arrangement!r}")
    if c.sparse_kind not in MASK_KINDS:
        p.append(f"sparse_kind must be one of {MASK_KINDS}, not {c.sparse_kind!r}")
    if not 0 < c.support_coverage <= 1:
        p.append(f"support_coverage must be in (0, 1], not {c.support_coverage}")
    elif c.support_coverage < 1 and c.support_undulation_rms == 0:
        p.append("support_coverage < 1 needs support_undulation_rms > 0 (vacuum follows it)")
    if not 0 < c.sparse_fraction <= 1:
        p.append(f"sparse_fraction must be in (0, 1], not {c.sparse_fraction}")
    for name in ("merge_probability", "split_probability"):
        value = getattr(c, name)
        if not 0 <= value <= 1:
            p.append(f"{name} must be a probability in [0, 1], not {value}")
    if c.overlap_max >= 1:
        p.append(f"overlap_max must be < 1 (1 = concentric particles), not {c.overlap_max}")
    if c.aspect_ratio_max < 1:
        p.append(f"aspect_ratio_max must be >= 1, not {c.aspect_ratio_max}")
    if c.rod_aspect_max < 1.5:
        p.append(f"rod_aspect_max must be >= 1.5, not {c.rod_aspect_max}")
    kinds = [k for k, _ in c.shape_weights]
    unknown = [k for k in kinds if k not in SHAPE_KINDS]
    if unknown:
        p.append(f"shape_weights has unknown shapes {unknown}; known: {SHAPE_KINDS}")
    weights = [w for _, w in c.shape_weights]
    if not weights or min(weights) < 0 or sum(weights) <= 0:
        p.append(f"shape_weights must be >= 0 and not all 0, not {c.shape_weights}")
    if len(c.drift_nm_per_s) != 2:
        p.append(f"drift_nm_per_s must be (vx, vy) in nm/s, not {c.drift_nm_per_s}")
    if c.radius_min_nm > 0 and c.radius_median_nm > 0 and c.radius_min_nm > c.radius_median_nm:
        p.append(
            f"radius_min_nm ({c.radius_min_nm}) must not exceed radius_median_nm "
            f"({c.radius_median_nm})"
        )
    if not p and c.expected_coverage() > MAX_COVERAGE:
        p.append(
            f"impossible density: {c.n_particles:g} particles of median radius "
            f"{c.radius_median_nm:g} nm would cover {c.expected_coverage():.0%} of the "
            f"{c.shape[1] * c.pixel_size_nm:g} x {c.shape[0] * c.pixel_size_nm:g} nm field of view "
            f"(at most {MAX_COVERAGE:.0%}); lower n_particles or radius_median_nm"
        )
    return p
