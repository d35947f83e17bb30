"""The published static site (issue 6): index, bureau page, one page per
employer, rules page; built from the marts, published atomically."""
from reports.site.builder import SiteBuildError, SiteResult, build_site
from reports.site.publish import discard_staged_site, publish_site, remove_tree, stage_site, staged_path, swap_site

__all__ = ["SiteBuildError", "SiteResult", "build_site", "discard_staged_site", "publish_site", "remove_tree", "stage_site",
           "staged_path", "swap_site"]
