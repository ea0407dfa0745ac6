#!/usr/bin/python3
# Prints the key and button events that reach an X display's root window, one JSON object a line, for SECS seconds:
#   events.py SECS
# Prints {"ready": true} once it listens. The display comes from $DISPLAY. Keyboard focus is the root window (no window
# manager), so what a VNC viewer types arrives here.
import json
import select
import sys
import time
from Xlib import X, XK, display

d = display.Display()
root = d.screen().root
root.change_attributes(event_mask=X.KeyPressMask | X.KeyReleaseMask | X.ButtonPressMask | X.ButtonReleaseMask)
d.sync()
print(json.dumps({'ready': True}), flush=True)
until = time.monotonic() + float(sys.argv[1])
while time.monotonic() < until:
    if not d.pending_events():
        select.select([d], [], [], 0.1)
        continue
    e = d.next_event()
    if e.type in (X.KeyPress, X.KeyRelease):
        keysym = d.keycode_to_keysym(e.detail, 1 if e.state & X.ShiftMask else 0)
        print(json.dumps({'type': 'key', 'down': e.type == X.KeyPress, 'keysym': keysym, 'name': XK.keysym_to_string(keysym)}), flush=True)
    elif e.type in (X.ButtonPress, X.ButtonRelease):
        print(json.dumps({'type': 'button', 'down': e.type == X.ButtonPress, 'button': e.detail, 'x': e.root_x, 'y': e.root_y}), flush=True)
