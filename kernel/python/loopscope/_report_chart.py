"""The Vega-Lite chart of a nest's report: the predicted cost per variant,
stacked by component, and the predicted time against the problem size, with
the current size marked and a dropdown for the GPU profile."""

import math
from typing import Optional

from ._report_common import COMPONENT_COLOURS, VEGA_LITE_SCHEMA, NestReport, components_of

# --- the charts ----------------------------------------------------------------

CHART_WIDTH = 380  # with axes and legend, a chart fits a 700 px cell


def chart_spec(report: NestReport) -> Optional[dict]:
    est = report.estimate
    if not est or not est.get("variants"):
        return None
    current = est.get("gpu_profile") or "gpu"
    # The GPU bar is priced on every profile (the dropdown picks one, for both
    # charts); the CPU and Python bars do not depend on it ("*").
    gpu_bars = dict(report.profile_gpu)
    components = components_of(est)
    bars = []
    for v in est["variants"]:
        name = v.get("variant")
        per_profile = {current: v}
        if name == "gpu":
            per_profile.update(gpu_bars)
        for profile, pv in per_profile.items():
            label = name + ("" if pv.get("available", True) else " (not available)")
            for comp in components:
                bars.append(
                    {
                        "variant": label,
                        "component": comp,
                        "seconds": float(pv.get(comp) or 0.0),
                        "profile": profile if name == "gpu" else "*",
                    }
                )
    profiles = sorted(set(report.profile_sweeps) | set(gpu_bars) | {current})
    linked = len(profiles) > 1
    cost_chart = {
        "title": "Predicted time per variant",
        "data": {"values": bars},
        **({"transform": [{"filter": "datum.profile == '*' || datum.profile == gpu_profile"}]} if linked else {}),
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "y": {"field": "variant", "type": "nominal", "sort": None, "title": None},
            "x": {"field": "seconds", "type": "quantitative", "aggregate": "sum", "title": "seconds (predicted)"},
            "color": {
                "field": "component",
                "type": "nominal",
                "sort": list(components),
                "scale": {"domain": list(components), "range": [COMPONENT_COLOURS[c] for c in components]},
                "legend": {"orient": "bottom", "title": None},
            },
            "order": {"field": "component", "type": "nominal"},
        },
        "width": CHART_WIDTH,
    }
    charts = [cost_chart]
    sweeps = dict(report.profile_sweeps)
    if est.get("sweep") and current not in sweeps:
        sweeps[current] = est["sweep"]
    points = []
    for profile, sweep in sweeps.items():
        for p in sweep:
            for variant in ("python", "cpu-serial", "cpu", "gpu"):
                if variant != "gpu" and profile != current:
                    continue  # CPU curves do not depend on the GPU profile
                val = p.get(variant)
                if val is None or not (val > 0) or math.isinf(val):
                    continue
                points.append(
                    {
                        "size": p["size"],
                        "variant": variant,
                        "seconds": val,
                        "profile": profile if variant == "gpu" else "*",
                    }
                )
    if points:
        work = est.get("work") or {}
        size_now = work.get("size_value")
        size_label = work.get("size_axis") or est.get("size_label") or work.get("size_label") or "problem size"
        layers = [
            {
                "mark": {"type": "line", "point": True, "tooltip": True},
                "transform": [{"filter": "datum.profile == '*' || datum.profile == gpu_profile"}],
                "encoding": {
                    "x": {"field": "size", "type": "quantitative", "scale": {"type": "log"}, "title": str(size_label)},
                    "y": {
                        "field": "seconds",
                        "type": "quantitative",
                        "scale": {"type": "log"},
                        "title": "seconds (predicted)",
                    },
                    "color": {"field": "variant", "type": "nominal", "legend": {"orient": "bottom", "title": None}},
                },
            }
        ]
        if isinstance(size_now, (int, float)) and size_now > 0:
            layers.append(
                {
                    "data": {"values": [{"size": size_now, "what": "this run"}]},
                    "mark": {"type": "rule", "strokeDash": [4, 3], "color": "#ef6c00"},
                    "encoding": {
                        "x": {"field": "size", "type": "quantitative"},
                        "tooltip": {"field": "what", "type": "nominal"},
                    },
                }
            )
        charts.append(
            {
                "title": "Predicted time against problem size",
                "data": {"values": points},
                "layer": layers,
                "width": CHART_WIDTH,
            }
        )
    # One above the other: side by side they are wider than a 700 px cell.
    spec = {"$schema": VEGA_LITE_SCHEMA, "vconcat": charts, "resolve": {"scale": {"color": "independent"}}}
    if linked:
        # A variable parameter bound to an input lives at the top level of a
        # concatenated view; both charts filter on it.
        spec["params"] = [
            {
                "name": "gpu_profile",
                "value": current,
                "bind": {"input": "select", "options": profiles, "name": "GPU profile: "},
            }
        ]
    return spec


# --- the HTML ------------------------------------------------------------------
