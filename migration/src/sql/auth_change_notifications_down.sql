DROP TRIGGER IF EXISTS bai_auth_changed ON keypair_resource_policies;
DROP TRIGGER IF EXISTS bai_auth_changed_delete ON users;
DROP TRIGGER IF EXISTS bai_auth_changed_update ON users;
DROP TRIGGER IF EXISTS bai_auth_changed_delete ON keypairs;
DROP TRIGGER IF EXISTS bai_auth_changed_update ON keypairs;
DROP FUNCTION IF EXISTS bai_notify_auth_changed();
