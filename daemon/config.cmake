# skynet_config: the daemon's YAML configuration (daemon/config.h). Kept in its own file so that
# daemon/CMakeLists.txt can include() it; paths are relative to this file, not to the includer.
# skynet_analytics: the option structs and their Validate*() functions, so the config accepts
# exactly what analytics accepts. skynet_keys: the Z85 key check shared with the key files.
add_library(skynet_config STATIC ${CMAKE_CURRENT_LIST_DIR}/config.cc)
target_link_libraries(skynet_config PUBLIC skynet_core skynet_analytics yaml-cpp opencv_core
  PRIVATE skynet_keys)
