"""The building collapse on a real plate: matte, clean plate, fracture, rigid bodies, dust,
layered ACEScg EXRs, review movie, contact sheet, cost report (``moviola vfx collapse``)."""

from ._collapse import REPORT_NAME, REPORT_SCHEMA, read_report, run_collapse
from ._comp import LAYER_ORDER, comp_from_layers
from ._cost import CPU_PRICE_PER_VCPU_HOUR, TRADITIONAL
from ._layers import LAYERS, layer_path
from ._matte import Region, building_matte, check_region, parse_box, read_polygon
from ._plate import MAX_SIDE, Plate, load_plate
from ._recipe import RECIPE_SCHEMA, CollapseRecipe, preview_of, read_recipe, write_recipe
from ._simulate import MODES
from ._workflow import render_collapse

__all__ = [
    "CPU_PRICE_PER_VCPU_HOUR",
    "LAYERS",
    "LAYER_ORDER",
    "MAX_SIDE",
    "MODES",
    "RECIPE_SCHEMA",
    "REPORT_NAME",
    "REPORT_SCHEMA",
    "TRADITIONAL",
    "CollapseRecipe",
    "Plate",
    "Region",
    "building_matte",
    "check_region",
    "comp_from_layers",
    "layer_path",
    "load_plate",
    "parse_box",
    "preview_of",
    "read_polygon",
    "read_recipe",
    "read_report",
    "render_collapse",
    "run_collapse",
    "write_recipe",
]
