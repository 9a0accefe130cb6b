"""RFID readers: serial UHF modules (`magicrf`, `thingmagic`), desktop counter readers (`chafon`), TSL
handhelds (`tsl`), LLRP fixed readers (`llrp`, needs the optional GPL-3.0 sllurp: `pip install
'carrier-tracker[llrp]'`), and what turns their reads into a stock-take: `inventory` (aggregation), `epc`
(our tags vs foreign ones), `upload` (device/batch/seq rows and CSV). Codecs are pure functions of bytes;
`session` adds the timing and reconnects. Nothing here imports `tracker` or `tui`.
"""
