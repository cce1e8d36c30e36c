"""VFX shots on real plates: the building collapse (matte, clean plate, fracture, rigid
bodies, dust, layered ACEScg EXRs, review movie, contact sheet, cost report)."""

from ._collapse import REPORT_SCHEMA, run_collapse
from ._comp import LAYER_ORDER, comp_from_layers
from ._consent import ConsentRecord, check_consent, new_consent, read_consent, write_consent
from ._cost import CPU_PRICE_PER_VCPU_HOUR, TRADITIONAL
from ._matte import Region, building_matte, check_region, parse_box, read_polygon
from ._outputs import LAYERS, layer_path
from ._plate import MAX_SIDE, Plate, load_plate
from ._recipe import RECIPE_SCHEMA, CollapseRecipe, preview_of, read_recipe, write_recipe
from ._refiner import ENTRY_POINT_GROUP, PassThrough, Refiner, RefineRequest, load_refiner
from ._simulate import MODES

__all__ = [
    "CPU_PRICE_PER_VCPU_HOUR",
    "ENTRY_POINT_GROUP",
    "LAYERS",
    "LAYER_ORDER",
    "MAX_SIDE",
    "MODES",
    "RECIPE_SCHEMA",
    "REPORT_SCHEMA",
    "TRADITIONAL",
    "CollapseRecipe",
    "ConsentRecord",
    "PassThrough",
    "Plate",
    "RefineRequest",
    "Refiner",
    "Region",
    "building_matte",
    "check_consent",
    "check_region",
    "comp_from_layers",
    "layer_path",
    "load_plate",
    "load_refiner",
    "new_consent",
    "parse_box",
    "preview_of",
    "read_consent",
    "read_polygon",
    "read_recipe",
    "run_collapse",
    "write_consent",
    "write_recipe",
]
