"""RFID exit gates (通道门) and smart cabinets (智能柜): places bound to readers, watchers that turn reads into
alarms, loans and returns, and the outputs a site wires to a light or a buzzer (issue 23)."""
