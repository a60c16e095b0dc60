"""The batch endpoint clients post events to: validated, answered per event, landed durably."""
