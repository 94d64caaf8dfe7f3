#!/bin/sh
# Regenerates the PNG icons (a wax seal with an S) with ImageMagick; run from the repository root.
set -e
big=$(mktemp --suffix=.png)
convert -size 384x384 xc:none -fill '#9b1c1c' -draw 'circle 192,192 192,16' \
  -fill none -stroke '#f3d9b1' -strokewidth 16 -draw 'circle 192,192 192,56' -strokewidth 28 \
  -draw "path 'M 240,136 C 228,120 208,112 188,112 C 160,112 140,128 140,152 C 140,204 244,184 244,236 C 244,260 220,276 192,276 C 168,276 148,268 136,248'" \
  "$big"
for size in 16 32 48 96; do convert "$big" -resize "${size}x${size}" "extension/icons/sigill-$size.png"; done
rm -f "$big"
