"""Run inside Blender's Python (bpy): import a USD stage, print every camera's lens as JSON.

Blender's own USD importer is the judge here: what it reads as ``lens`` and
``sensor_width`` (millimetres) is what an artist sees in the camera panel.
"""

import json
import sys

import bpy

bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.wm.usd_import(filepath=sys.argv[-1])
cameras = {
    obj.name: {"lens": obj.data.lens, "sensor_width": obj.data.sensor_width,
               "sensor_height": obj.data.sensor_height}
    for obj in bpy.data.objects
    if obj.type == "CAMERA"
}
print("CAMERAS " + json.dumps(cameras))
