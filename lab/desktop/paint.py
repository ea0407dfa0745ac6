#!/usr/bin/python3
# Draws known pixels on an X display's root window, for the desktop lab's tests and benchmark.
#   paint.py still IMAGE.ppm               the image becomes the root window's background and stays after exit
#   paint.py animate A.ppm B.ppm FPS SECS  shows A and B in turn, FPS times a second, for SECS seconds
#   paint.py copy SX SY W H DX DY          copies an area of the screen to another place (a scroll, as CopyRect sends it)
# The display comes from $DISPLAY (and $XAUTHORITY). Images are binary PPM (P6), 8 bits a channel.
import sys
import time
from Xlib import X, display


def read_ppm(path):
    with open(path, 'rb') as f:
        data = f.read()
    fields = []
    at = 0
    while len(fields) < 4:
        while data[at:at + 1].isspace():
            at += 1
        end = at
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[at:end])
        at = end
    at += 1
    if fields[0] != b'P6' or fields[3] != b'255':
        raise SystemExit(f'{path}: not an 8-bit binary PPM')
    width, height = int(fields[1]), int(fields[2])
    return width, height, data[at:at + width * height * 3]


def to_zpixmap(width, height, rgb):
    # 24-bit TrueColor, 32 bits a pixel, least significant byte first: B G R pad.
    out = bytearray(width * height * 4)
    out[0::4] = rgb[2::3]
    out[1::4] = rgb[1::3]
    out[2::4] = rgb[0::3]
    return bytes(out)


def pixmap_of(d, root, gc, path):
    width, height, rgb = read_ppm(path)
    pixels = to_zpixmap(width, height, rgb)
    pm = root.create_pixmap(width, height, 24)
    rows = max(1, 60000 // (width * 4))
    for y in range(0, height, rows):
        h = min(rows, height - y)
        pm.put_image(gc, 0, y, width, h, X.ZPixmap, 24, 0, pixels[y * width * 4:(y + h) * width * 4])
    return pm, width, height


def main():
    d = display.Display()
    screen = d.screen()
    root = screen.root
    if screen.root_depth != 24:
        raise SystemExit(f'the root window has depth {screen.root_depth}; 24 is needed')
    gc = root.create_gc()
    if sys.argv[1] == 'still':
        pm, _, _ = pixmap_of(d, root, gc, sys.argv[2])
        root.change_attributes(background_pixmap=pm)
        root.clear_area(0, 0, 0, 0)
        # Keep the pixmap when this client leaves, as xsetroot does.
        d.set_close_down_mode(X.RetainPermanent)
        d.sync()
        d.close()
        return
    if sys.argv[1] == 'copy':
        sx, sy, w, h, dx, dy = (int(v) for v in sys.argv[2:8])
        gc.change(subwindow_mode=X.IncludeInferiors)
        root.copy_area(gc, root, sx, sy, w, h, dx, dy)
        d.sync()
        d.close()
        return
    frames = [pixmap_of(d, root, gc, p) for p in sys.argv[2:4]]
    fps = float(sys.argv[4])
    until = time.monotonic() + float(sys.argv[5])
    gc.change(subwindow_mode=X.IncludeInferiors)
    n = 0
    while time.monotonic() < until:
        pm, width, height = frames[n % 2]
        root.copy_area(gc, pm, 0, 0, width, height, 0, 0)
        d.sync()
        n += 1
        time.sleep(1 / fps)
    print(n, 'frames')


main()
