# Debian packages (`make package`, CPack's DEB generator; docs/operations.md "Install"):
#   skynetd        the daemon, skynetctl and skynet-relay; the systemd unit; /etc/skynetd/skynetd.yaml
#                  as a conffile; a system user `skynetd` and /var/lib/skynetd made on install.
#   skynetd-tools  the camera simulator, scene generator, evaluation and chaos proxy.
# Install rules name their component: daemon or tools. Library dependencies come from
# dpkg-shlibdeps; GStreamer's plugins are loaded at run time, so they are named here.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME skynetd)
set(CPACK_PACKAGE_VENDOR "skynetd developers")
set(CPACK_PACKAGE_CONTACT "skynetd developers <skynetd@localhost>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL daemon tools)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION video)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)

set(CPACK_DEBIAN_DAEMON_PACKAGE_NAME skynetd)
set(CPACK_COMPONENT_DAEMON_DESCRIPTION
  "video ingestion and analytics daemon for fixed traffic cameras\n skynetd decodes RTSP camera feeds, runs motion and vehicle analytics and publishes\n every event as Protobuf over ZeroMQ; skynetctl drives it.")
set(CPACK_DEBIAN_DAEMON_PACKAGE_DEPENDS
  "adduser, gstreamer1.0-plugins-base, gstreamer1.0-plugins-good, gstreamer1.0-plugins-bad, gstreamer1.0-libav")
set(CPACK_DEBIAN_DAEMON_PACKAGE_CONTROL_EXTRA
  "${CMAKE_SOURCE_DIR}/tools/package/conffiles;${CMAKE_SOURCE_DIR}/tools/package/postinst;${CMAKE_SOURCE_DIR}/tools/package/prerm;${CMAKE_SOURCE_DIR}/tools/package/postrm")
set(CPACK_DEBIAN_DAEMON_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME skynetd-tools)
set(CPACK_COMPONENT_TOOLS_DESCRIPTION
  "skynetd's camera simulator, scene generator and evaluation tools\n skynet-camsim (RTSP camera simulator with faults), skynet-scenegen, skynet-eval and\n skynet-chaosproxy, for testing and tuning a skynetd installation.")
set(CPACK_DEBIAN_TOOLS_PACKAGE_DEPENDS
  "gstreamer1.0-plugins-base, gstreamer1.0-plugins-good, gstreamer1.0-plugins-bad, gstreamer1.0-plugins-ugly")

install(TARGETS skynetd skynetctl skynet-relay RUNTIME DESTINATION bin COMPONENT daemon)
install(TARGETS skynet-camsim skynet-scenegen skynet-eval skynet-chaosproxy
        RUNTIME DESTINATION bin COMPONENT tools)
install(FILES ${CMAKE_SOURCE_DIR}/config/skynetd.service DESTINATION /lib/systemd/system
        COMPONENT daemon)
install(FILES ${CMAKE_SOURCE_DIR}/config/skynetd.yaml DESTINATION /etc/skynetd COMPONENT daemon)
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION share/doc/skynetd COMPONENT daemon)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION share/doc/skynetd/docs COMPONENT daemon)
install(FILES ${CMAKE_SOURCE_DIR}/config/skynetd.example.yaml DESTINATION share/doc/skynetd
        COMPONENT daemon)

include(CPack)
