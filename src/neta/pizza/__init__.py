"""The pizza generator: Dodo Pizza's menu as recipes and augmented top views."""
