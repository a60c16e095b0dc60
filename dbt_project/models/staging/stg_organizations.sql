select org_id, name as org_name
from {{ source('raw', 'organizations') }}
