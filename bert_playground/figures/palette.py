"""The playground's colours, in one place (issue 31): colour-blind-safe scales for every heatmap and a qualitative
palette for categories. Plain strings (no plotly import): the figure modules and a notebook read them.

- Magnitudes (attention weights, probabilities, counts, similarities): viridis, perceptually uniform and readable
  under every common colour-vision deficiency and in grey scale.
- Signed values (attributions, embedding values, differences): ColorBrewer's RdBu, negative blue, zero white,
  positive red: a blue–red axis stays distinguishable under deuteranopia and protanopia (ColorBrewer marks it
  colour-blind safe). Plotly's own "RdBu" has a grey middle and runs the other way; this is the ColorBrewer one.
- Categories: Okabe and Ito's palette (Color Universal Design), distinguishable under the common deficiencies; a
  figure that tells categories apart by colour also gives them a second cue (a symbol, dash, pattern or text).
"""
from __future__ import annotations

MAGNITUDE = "Viridis"
SIGNED = [[0.0, "#053061"], [0.1, "#2166ac"], [0.2, "#4393c3"], [0.3, "#92c5de"], [0.4, "#d1e5f0"], [0.5, "#f7f7f7"],
          [0.6, "#fddbc7"], [0.7, "#f4a582"], [0.8, "#d6604d"], [0.9, "#b2182b"], [1.0, "#67001f"]]
POSITIVE, NEGATIVE = "#b2182b", "#2166ac"  # the ends of SIGNED: for the prediction (red), against it (blue)

# Okabe & Ito (2008): blue, vermillion, bluish green, orange, reddish purple, sky blue, yellow, black
CATEGORICAL = ["#0072b2", "#d55e00", "#009e73", "#e69f00", "#cc79a7", "#56b4e9", "#f0e442", "#000000"]
SYMBOLS = ["circle", "square", "diamond", "triangle-up", "x", "star", "cross", "triangle-down"]  # second cue
DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"]
PATTERNS = ["", "/", ".", "x", "\\", "+"]  # bar fill patterns (Plotly's marker.pattern.shape)
NEUTRAL = "#6b7280"  # a reference (random orderings, baselines)


def categorical(i: int) -> str:
    return CATEGORICAL[i % len(CATEGORICAL)]
