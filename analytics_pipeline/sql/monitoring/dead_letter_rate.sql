-- Share of landed lines dead-lettered over the last %(days)s received days with data.
SELECT lines, dead_lettered FROM web.dead_letter_rate(%(days)s)
