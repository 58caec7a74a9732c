# Read by cpack for each generator (CPACK_PROJECT_CONFIG_FILE). CPackDeb puts
# CPACK_PACKAGE_DESCRIPTION_SUMMARY in front of every component's description unless it is
# CPack's default; each component's description here starts with its own synopsis line, so the
# shared summary is set back to that default for DEB (the RPMs have per-component summaries).
if(CPACK_GENERATOR STREQUAL "DEB")
  set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${CPACK_DEFAULT_PACKAGE_DESCRIPTION_SUMMARY}")
endif()
