"""The five synthetic domains, each a capture model after what its real counterpart is known for.

Each domain (:class:`~dgfas.data.synthetic.capture_model.Domain`) takes its
cameras, rooms and light, attack media and how attacks are held from its
real counterpart. Ranges overlap between domains but are shifted, so a model
can overfit one domain's nuisance factors, which is what domain
generalisation is about. How one video of a domain is shot is
:mod:`dgfas.data.synthetic.shoot`'s.

Time: a domain films at its real counterpart's frame rate and a video keeps
every :data:`~dgfas.data.synthetic.capture_model.FRAME_STEP`-th camera
frame, so stored frame ``f`` is at ``t = f * frame_step / frame_rate``
seconds (10 fps at 30 fps, 8.33 fps at 25 fps). Consecutive stored frames
must not be a thirtieth of a second apart: a clip of a few stored frames has
to span about a second to hold a heart beat, and 8.33 fps is still above the
6 Hz Nyquist rate of the fastest pulse (3 Hz, :mod:`dgfas.data.synthetic.pulse`).
"""

from __future__ import annotations

from dgfas.data.synthetic.camera import Camera
from dgfas.data.synthetic.capture_model import Attack, Domain, LightSession, PoseRange
from dgfas.data.synthetic.media import DisplayMedium, PrintMedium
from dgfas.data.synthetic.scene import BackgroundStyle

_OFFICE = BackgroundStyle(kinds=(0.3, 0.5, 0.2), brightness=(0.35, 0.75), saturation=(0.05, 0.2))

OULU = Domain(
    name="synth-oulu",
    letter="O",
    index=0,
    # six smartphones' front cameras (Galaxy S6 edge, HTC Desire EYE, MEIZU X5,
    # ASUS Zenfone Selfie, Sony XPERIA C5 Ultra Dual, OPPO N3): 1080p, sharp, own colour
    cameras=(
        Camera("galaxy-s6-edge", blur=(0.25, 0.45), white_balance=(1.05, 1.0, 0.94), saturation=(1.05, 1.2),
               contrast=(0.15, 0.3), sharpen=(0.3, 0.6), jpeg_quality=(85, 95)),
        Camera("htc-desire-eye", white_balance=(0.96, 1.0, 1.07), read_noise=(0.006, 0.014), sharpen=(0.1, 0.3)),
        Camera("meizu-x5", blur=(0.4, 0.7), white_balance=(1.07, 1.0, 0.92), read_noise=(0.008, 0.02)),
        Camera("asus-zenfone-selfie", saturation=(1.1, 1.25), contrast=(0.2, 0.35), gamma=(1.0, 1.15)),
        Camera("xperia-c5-ultra", blur=(0.35, 0.6), white_balance=(0.95, 1.0, 1.09), sharpen=(0.3, 0.6)),
        Camera("oppo-n3", read_noise=(0.01, 0.02), jpeg_quality=(75, 90), white_balance=(1.02, 1.0, 0.97)),
    ),
    # three sessions: open office with window light in front, meeting room with
    # warm lamps, office with window behind (dim, back/side light)
    sessions=(
        LightSession("session1-office", (0, 30), (0, 30), (0.35, 0.5), (0.5, 0.7), (5000, 6500), background=_OFFICE),
        LightSession("session2-meeting-room", (10, 50), (20, 50), (0.3, 0.45), (0.5, 0.7), (2900, 3800),
                     background=BackgroundStyle(kinds=(0.3, 0.4, 0.3), brightness=(0.3, 0.65), saturation=(0.1, 0.3),
                                                hue_bias=(1.05, 1.0, 0.9))),
        LightSession("session3-office-dim", (40, 80), (-10, 20), (0.45, 0.6), (0.2, 0.4), (5500, 7500),
                     background=BackgroundStyle(kinds=(0.4, 0.4, 0.2), brightness=(0.5, 0.9), saturation=(0.0, 0.15))),
    ),
    pose=PoseRange(yaw=8.0, pitch=6.0, roll=4.0, scale=(0.58, 0.68)),
    attacks=(
        Attack("print-1", PrintMedium("printer-1", halftone_period=(2.2, 3.0), saturation=(0.8, 0.95), gloss=0.3),
               content_scale=(0.35, 0.55)),
        Attack("print-2", PrintMedium("printer-2", halftone_period=(2.6, 3.4), saturation=(0.65, 0.85),
                                      contrast=(0.7, 0.85), paper=(1.0, 0.97, 0.9), gloss=0.15),
               content_scale=(0.35, 0.55)),
        Attack("replay-1", DisplayMedium("dell-1905fp", pixel_pitch=(1.2, 1.8), subpixel=(0.25, 0.45),
                                         white_point=(0.95, 1.0, 1.06), glare_probability=0.4, bezel=(0.05, 0.1)),
               content_scale=(0.35, 0.55), video=1.0),
        Attack("replay-2", DisplayMedium("macbook-retina-13", pixel_pitch=(0.7, 1.0), subpixel=(0.15, 0.35),
                                         white_point=(0.97, 1.0, 1.04), glare_probability=0.6, bezel=(0.03, 0.08),
                                         bezel_colour=(0.08, 0.08, 0.09)),
               content_scale=(0.35, 0.55), video=1.0),
    ),
    frame_rate=30.0,
)

CASIA = Domain(
    name="synth-casia",
    letter="C",
    index=1,
    # three qualities: an old USB camera (low), a new USB camera (normal), Sony NEX-5 (high)
    cameras=(
        Camera("usb-low-quality", resolution=(0.35, 0.5), blur=(0.6, 1.0), read_noise=(0.015, 0.03),
               shot_noise=(0.002, 0.005), jpeg_quality=(60, 80), white_balance=(1.06, 1.0, 0.9),
               saturation=(0.8, 1.0), sharpen=(0.0, 0.1)),
        Camera("usb-normal-quality", resolution=(0.6, 0.8), blur=(0.5, 0.8), read_noise=(0.01, 0.02),
               jpeg_quality=(70, 88), white_balance=(1.03, 1.0, 0.94)),
        Camera("sony-nex5-high-quality", blur=(0.25, 0.4), read_noise=(0.003, 0.008), jpeg_quality=(88, 97),
               sharpen=(0.3, 0.6), saturation=(1.0, 1.15)),
    ),
    sessions=(
        LightSession("indoor-natural", (0, 40), (0, 40), (0.4, 0.55), (0.45, 0.65), (4500, 6000),
                     background=BackgroundStyle(kinds=(0.5, 0.3, 0.2), brightness=(0.4, 0.85), saturation=(0.0, 0.15))),
    ),
    pose=PoseRange(yaw=6.0, pitch=5.0, roll=5.0, scale=(0.55, 0.66)),
    attacks=(
        # copper-paper photos, vivid, bent by hand
        Attack("print-warped", PrintMedium("copper-paper-warped", halftone_period=(2.4, 3.4), saturation=(0.95, 1.15),
                                           contrast=(0.8, 0.92), gloss=0.4, bend=(1.0, 2.2), margin=(0.0, 0.06)),
               hand_held=1.0, content_scale=(0.45, 0.7), tilt=8.0),
        # the same photos with the eyes cut out, the attacker's eyes behind
        Attack("print-cut", PrintMedium("copper-paper-cut", halftone_period=(2.4, 3.4), saturation=(0.95, 1.15),
                                        contrast=(0.8, 0.92), gloss=0.4, bend=(0.0, 0.5), cut_eyes=True,
                                        margin=(0.0, 0.06)),
               hand_held=1.0, content_scale=(0.45, 0.7), tilt=8.0),
        # video replay on a first-generation iPad (1024x768: coarse pixels)
        Attack("replay-ipad", DisplayMedium("ipad-1", pixel_pitch=(1.3, 2.0), pixelate=True, subpixel=(0.25, 0.5),
                                            white_point=(0.93, 1.0, 1.1), bezel=(0.05, 0.12)),
               hand_held=0.5, content_scale=(0.45, 0.7), video=1.0),
    ),
    # CASIA-FASD's videos run at 25-30 fps; the lower rate is the harder case
    frame_rate=25.0,
)

REPLAY = Domain(
    name="synth-replay",
    letter="I",
    index=2,
    # a MacBook's built-in 320x240 webcam: low resolution, blue-ish, heavy compression
    cameras=(
        Camera("macbook-webcam-320x240", resolution=(0.4, 0.6), blur=(0.5, 0.9), read_noise=(0.012, 0.025),
               shot_noise=(0.002, 0.004), jpeg_quality=(55, 80), white_balance=(0.94, 1.0, 1.1),
               saturation=(0.75, 0.95), gamma=(0.9, 1.05), contrast=(0.0, 0.15), vignette=(0.1, 0.25)),
    ),
    sessions=(
        LightSession("controlled", (0, 20), (10, 40), (0.5, 0.65), (0.35, 0.5), (3800, 4600),
                     background=BackgroundStyle(kinds=(0.8, 0.2, 0.0), brightness=(0.45, 0.8), saturation=(0.0, 0.1))),
        LightSession("adverse", (40, 85), (-5, 25), (0.2, 0.35), (0.6, 0.85), (5000, 6500),
                     background=BackgroundStyle(kinds=(0.1, 0.4, 0.5), brightness=(0.25, 0.8), saturation=(0.05, 0.3))),
    ),
    pose=PoseRange(yaw=7.0, pitch=6.0, roll=4.0, scale=(0.56, 0.66)),
    attacks=(
        Attack("print", PrintMedium("laser-a4", halftone_period=(2.6, 3.6), halftone_strength=(0.3, 0.55),
                                    saturation=(0.6, 0.85), contrast=(0.7, 0.85), gloss=0.15, margin=(0.02, 0.1)),
               content_scale=(0.5, 0.8)),
        Attack("mobile-photo", DisplayMedium("iphone-3gs", pixel_pitch=(1.6, 2.4), pixelate=True,
                                             white_point=(0.9, 1.0, 1.12), bezel=(0.08, 0.18)),
               content_scale=(0.5, 0.8)),
        Attack("mobile-video", DisplayMedium("iphone-3gs", pixel_pitch=(1.6, 2.4), pixelate=True,
                                             white_point=(0.9, 1.0, 1.12), bezel=(0.08, 0.18)),
               content_scale=(0.5, 0.8), video=1.0),
        Attack("highdef-photo", DisplayMedium("ipad-1", pixel_pitch=(1.3, 2.0), pixelate=True,
                                              white_point=(0.93, 1.0, 1.1), bezel=(0.05, 0.12)),
               content_scale=(0.45, 0.7)),
        Attack("highdef-video", DisplayMedium("ipad-1", pixel_pitch=(1.3, 2.0), pixelate=True,
                                              white_point=(0.93, 1.0, 1.1), bezel=(0.05, 0.12)),
               content_scale=(0.45, 0.7), video=1.0),
    ),
    frame_rate=25.0,
)

MSU = Domain(
    name="synth-msu",
    letter="M",
    index=3,
    # a MacBook Air 13" laptop camera (640x480) and a Nexus 5 front camera (720x480)
    cameras=(
        Camera("macbook-air-640x480", resolution=(0.6, 0.85), blur=(0.4, 0.7), read_noise=(0.008, 0.018),
               jpeg_quality=(75, 90), white_balance=(1.03, 1.0, 0.95), saturation=(0.9, 1.05)),
        Camera("nexus5-front-720x480", resolution=(0.75, 0.95), blur=(0.35, 0.6), read_noise=(0.006, 0.014),
               jpeg_quality=(80, 92), white_balance=(0.98, 1.0, 1.03), saturation=(1.0, 1.15), sharpen=(0.2, 0.5)),
    ),
    sessions=(
        LightSession("lab-indoor", (0, 45), (0, 35), (0.4, 0.55), (0.45, 0.65), (4200, 5600),
                     background=BackgroundStyle(kinds=(0.3, 0.3, 0.4), brightness=(0.3, 0.8), saturation=(0.05, 0.25))),
    ),
    pose=PoseRange(yaw=6.0, pitch=5.0, roll=3.0, scale=(0.57, 0.67)),
    attacks=(
        Attack("printed-photo", PrintMedium("hp-colour-laser-a3", halftone_period=(2.2, 3.0), saturation=(0.75, 0.95),
                                            gloss=0.2, margin=(0.0, 0.08)),
               content_scale=(0.4, 0.65)),
        Attack("replay-ipad-air", DisplayMedium("ipad-air", pixel_pitch=(0.7, 1.1), subpixel=(0.15, 0.35),
                                                white_point=(0.96, 1.0, 1.05), bezel=(0.04, 0.1)),
               content_scale=(0.4, 0.6), video=1.0),
        Attack("replay-iphone-5s", DisplayMedium("iphone-5s", pixel_pitch=(0.8, 1.2), subpixel=(0.15, 0.35),
                                                 white_point=(0.95, 1.0, 1.07), bezel=(0.1, 0.2),
                                                 bezel_colour=(0.1, 0.1, 0.1)),
               content_scale=(0.55, 0.85), video=1.0),
    ),
    frame_rate=30.0,
)

SIW = Domain(
    name="synth-siw",
    letter="S",
    index=4,
    # SiW films at 1080p with two sensors: a Canon EOS T6 (sharp, clean, warm) and a Logitech C920
    # webcam (softer, noisier, auto white balance), so both are near full resolution
    cameras=(
        Camera("canon-eos-t6", blur=(0.2, 0.4), read_noise=(0.003, 0.008), jpeg_quality=(88, 97),
               white_balance=(1.04, 1.0, 0.95), saturation=(1.0, 1.15), sharpen=(0.2, 0.5), vignette=(0.05, 0.2)),
        Camera("logitech-c920", resolution=(0.85, 1.0), blur=(0.4, 0.7), read_noise=(0.008, 0.016),
               jpeg_quality=(75, 90), white_balance=(0.98, 1.0, 1.04), auto_white_balance=(0.7, 1.0)),
    ),
    # one lab, lit by its ceiling lights, alone or with a lamp to one side (SiW's illumination change). The
    # ceiling keeps the lab bright (ambient 0.55-0.7) under the lamp too, so a sheet facing the camera is lit
    # about as brightly as a face. A live frame's panel is dimmed by the sheet's shading while the face is lit
    # once; a spoof's recorded face and room are dimmed alike (print) or not at all (display). Relative to
    # the face, which auto-exposure meters, a spoof's border is thus brighter by one over the sheet's shading:
    # with a dim side-lit lab (ambient 0.25-0.4) that cue lifted the shortcut audit above 0.70 at quick.
    sessions=(
        LightSession("lab-ceiling", (0, 25), (25, 50), (0.55, 0.7), (0.45, 0.6), (4000, 5200),
                     background=BackgroundStyle(kinds=(0.6, 0.3, 0.1), brightness=(0.45, 0.85),
                                                saturation=(0.0, 0.12))),
        LightSession("lab-side-lamp", (35, 70), (0, 25), (0.55, 0.7), (0.55, 0.8), (3000, 4200),
                     background=BackgroundStyle(kinds=(0.6, 0.3, 0.1), brightness=(0.3, 0.75),
                                                saturation=(0.0, 0.12), hue_bias=(1.04, 1.0, 0.94))),
    ),
    # subjects turn their heads and change expression during a video, and stand at several distances
    # (a face from about half to three quarters of the crop)
    pose=PoseRange(yaw=14.0, pitch=8.0, roll=5.0, scale=(0.48, 0.74), shift=0.03, motion=2.5),
    # two printers and four replay devices (the four the SiW paper lists); their order numbers them
    # (attack_device: printers 1-2, replay devices 1-4) as SiW's file names number its media, which lets
    # one selection read both; which real device bears which number is SiW's README's to say, not assumed here.
    # White points: the iPad Pro's True Tone warms its white, the Galaxy S8's OLED is cool, the others sit
    # between; drawn all bluish (blue 1.05-1.1), they made every replay bluer than the lives, a colour cue
    # of S's alone.
    attacks=(
        Attack("print-1", PrintMedium("printer-1", halftone_period=(2.2, 3.0), saturation=(0.8, 1.0), gloss=0.35,
                                      margin=(0.0, 0.06)),
               content_scale=(0.4, 0.65)),
        Attack("print-2", PrintMedium("printer-2", halftone_period=(2.6, 3.4), saturation=(0.7, 0.9),
                                      contrast=(0.72, 0.86), paper=(1.0, 0.97, 0.92), gloss=0.2, margin=(0.0, 0.06)),
               content_scale=(0.4, 0.65)),
        Attack("replay-ipad-pro", DisplayMedium("ipad-pro", pixel_pitch=(0.7, 1.0), subpixel=(0.15, 0.3),
                                                white_point=(1.02, 1.0, 0.97), bezel=(0.04, 0.09)),
               content_scale=(0.4, 0.6), video=1.0),
        Attack("replay-iphone-7", DisplayMedium("iphone-7", pixel_pitch=(0.8, 1.2), subpixel=(0.15, 0.35),
                                                white_point=(0.97, 1.0, 1.04), bezel=(0.1, 0.2),
                                                bezel_colour=(0.1, 0.1, 0.1)),
               content_scale=(0.55, 0.85), video=1.0),
        Attack("replay-galaxy-s8", DisplayMedium("galaxy-s8", pixel_pitch=(0.7, 1.1), subpixel=(0.3, 0.5),
                                                 gamma=(1.0, 1.25), white_point=(0.96, 1.0, 1.08),
                                                 black_level=(0.01, 0.04), bezel=(0.03, 0.08)),
               content_scale=(0.55, 0.85), video=1.0),
        Attack("replay-asus-mb168b", DisplayMedium("asus-mb168b", pixel_pitch=(1.4, 2.0), pixelate=True,
                                                   subpixel=(0.25, 0.45), white_point=(1.0, 1.0, 1.01),
                                                   view_falloff=(0.5, 1.0), glare_probability=0.3,
                                                   bezel=(0.03, 0.07)),
               content_scale=(0.35, 0.55), video=1.0),
    ),
    frame_rate=30.0,
    # SiW films 165 people, three to five times as many as the other four corpora (35-55)
    subject_factor=3,
)

#: All domains in seed order (``Domain.index``).
DOMAINS: dict[str, Domain] = {d.name: d for d in (OULU, CASIA, REPLAY, MSU, SIW)}
