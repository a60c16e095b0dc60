-- Received-date folders of the landing zone whose every file was handled (ingested or
-- quarantined) when they were last listed, with the folder's modification time then, in
-- nanoseconds. The time moves whenever a file is added, renamed in or removed, so a folder
-- whose time has not moved since holds nothing new: the landing sensor and the ingest-lag
-- figures list only the folders not settled here. The daily catch-up lists every folder.
CREATE TABLE raw.settled_landing_folders (
    received_date date PRIMARY KEY,
    modified_ns bigint NOT NULL
);
