#!/bin/sh
# Regenerates the checked-in seed corpus of the fuzz targets (make fuzz): serialized control
# requests (protoc --encode) and the example configs. Run from anywhere; needs protoc.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$here/corpus/control"
encode() {  # NAME TEXT
  printf '%s\n' "$2" | protoc --encode=skynet.v1.Request -I "$root/proto" \
    "$root/proto/skynet/v1/control.proto" > "$out/$1"
}
encode list_cameras 'list_cameras {}'
encode status_all 'status {}'
encode status_cam 'status { camera_id: "cam1" }'
encode add_camera 'add_camera { id: "cam9" name: "Gate" url: "rtsp://10.0.0.9:554/main" analytics_fps: 5 detect_width: 640 }'
encode add_camera_yaml 'add_camera { yaml: "id: cam9\nurl: rtsp://10.0.0.9/s\n" }'
encode remove_camera 'remove_camera { camera_id: "cam1" }'
encode enable_camera 'enable_camera { camera_id: "cam1" }'
encode disable_camera 'disable_camera { camera_id: "cam1" }'
encode reload 'reload {}'
cp "$root"/config/*.yaml "$here/corpus/config/"
