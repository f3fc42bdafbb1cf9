# skynet_config: the daemon's YAML configuration (daemon/config.h). Kept in its own file so that
# daemon/CMakeLists.txt can include() it; paths are relative to this file, not to the includer.
# skynet_analytics: the option structs and their Validate*() functions, so the config accepts
# exactly what analytics accepts. skynet_protocol: the Z85 key check shared with the key files.
add_library(skynet_config STATIC ${CMAKE_CURRENT_LIST_DIR}/config.cc)
target_include_directories(skynet_config PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(skynet_config PUBLIC skynet_core skynet_analytics opencv_core
  PRIVATE yaml-cpp skynet_protocol)
