-- One notification per transaction and table (PostgreSQL folds equal payloads), sent on commit.
CREATE FUNCTION bai_notify_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('bai_auth_changed', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

-- The columns that authentication reads (services::auth).
CREATE TRIGGER bai_auth_changed_update AFTER UPDATE ON keypairs FOR EACH ROW
    WHEN ((OLD.access_key, OLD.secret_key, OLD.is_active, OLD.is_admin, OLD.rate_limit,
           OLD."user", OLD.user_id, OLD.resource_policy)
          IS DISTINCT FROM
          (NEW.access_key, NEW.secret_key, NEW.is_active, NEW.is_admin, NEW.rate_limit,
           NEW."user", NEW.user_id, NEW.resource_policy))
    EXECUTE FUNCTION bai_notify_auth_changed();
CREATE TRIGGER bai_auth_changed_delete AFTER DELETE ON keypairs FOR EACH ROW
    EXECUTE FUNCTION bai_notify_auth_changed();

CREATE TRIGGER bai_auth_changed_update AFTER UPDATE ON users FOR EACH ROW
    WHEN ((OLD.uuid, OLD.email, OLD.role, OLD.status, OLD.domain_name)
          IS DISTINCT FROM
          (NEW.uuid, NEW.email, NEW.role, NEW.status, NEW.domain_name))
    EXECUTE FUNCTION bai_notify_auth_changed();
CREATE TRIGGER bai_auth_changed_delete AFTER DELETE ON users FOR EACH ROW
    EXECUTE FUNCTION bai_notify_auth_changed();

-- Every column of a resource policy is part of the caller's identity.
CREATE TRIGGER bai_auth_changed AFTER UPDATE OR DELETE ON keypair_resource_policies
    FOR EACH STATEMENT EXECUTE FUNCTION bai_notify_auth_changed();
