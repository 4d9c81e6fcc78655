# Settings of the local stack, sourced by stack.sh: loads .env (the real environment wins), fills
# every CRM_* default from API.md, and exports them so every process sees the same values.
# shellcheck shell=bash
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# .env holds KEY=VALUE lines; a variable already in the environment is never overridden.
if [[ -f $root/.env ]]; then
    while IFS= read -r line || [[ -n $line ]]; do
        [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
        [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?(CRM_[A-Z0-9_]+)=(.*)$ ]] || continue
        name=${BASH_REMATCH[2]} value=${BASH_REMATCH[3]}
        value=${value%\"} value=${value#\"}
        [[ -v $name ]] || export "$name=$value"
    done <"$root/.env"
fi

export CRM_CACHE=${CRM_CACHE:-$HOME/.cache/crm}
export CRM_VAR=${CRM_VAR:-$root/var}
mkdir -p "$CRM_VAR"
CRM_VAR=$(cd "$CRM_VAR" && pwd)
export CRM_BIN_DIR=${CRM_BIN_DIR:-$root/build/release/bin}

export CRM_GATEWAY_PORT=${CRM_GATEWAY_PORT:-8080}
export CRM_AUTH_PORT=${CRM_AUTH_PORT:-8081}
export CRM_CUSTOMERS_PORT=${CRM_CUSTOMERS_PORT:-8082}
export CRM_CASES_PORT=${CRM_CASES_PORT:-8083}
export CRM_FERRETDB_PORT=${CRM_FERRETDB_PORT:-27017}
export CRM_KAFKA_PORT=${CRM_KAFKA_PORT:-9092}
export CRM_KAFKA_CONTROLLER_PORT=${CRM_KAFKA_CONTROLLER_PORT:-$((CRM_KAFKA_PORT + 1))}
export CRM_KAFKA_PARTITIONS=${CRM_KAFKA_PARTITIONS:-3}
export CRM_KAFKA_HEAP=${CRM_KAFKA_HEAP:-512m}
export CRM_MONGO_URI=${CRM_MONGO_URI:-mongodb://127.0.0.1:$CRM_FERRETDB_PORT/?serverSelectionTimeoutMS=1000&connectTimeoutMS=1000}
export CRM_KAFKA_BROKERS=${CRM_KAFKA_BROKERS:-127.0.0.1:$CRM_KAFKA_PORT}
export CRM_BOOTSTRAP_ADMIN_USERNAME=${CRM_BOOTSTRAP_ADMIN_USERNAME:-admin}
# Instances of each service (the gateway balances over them) and a command that wraps each of our
# executables (`make memcheck` sets valgrind).
export CRM_INSTANCES=${CRM_INSTANCES:-1}
[[ $CRM_INSTANCES =~ ^[1-9]$ ]] || { echo "CRM_INSTANCES must be 1 to 9, got '$CRM_INSTANCES'" >&2; exit 2; }
export CRM_WRAP=${CRM_WRAP:-}
if ((CRM_INSTANCES > 1)); then
    for crm_service in AUTH CUSTOMERS CASES; do
        crm_url=CRM_${crm_service}_URL crm_port=CRM_${crm_service}_PORT
        if [[ -z ${!crm_url:-} ]]; then
            crm_list=
            for ((crm_n = 0; crm_n < CRM_INSTANCES; crm_n++)); do
                crm_list+=${crm_list:+,}http://127.0.0.1:$((${!crm_port} + 100 * crm_n))
            done
            export "$crm_url=$crm_list"
        fi
    done
fi

# Development keys and the bootstrap admin's password are made once per CRM_VAR when none is
# configured, and kept there (never in the checkout).
if [[ -z ${CRM_JWT_PRIVATE_KEY_FILE:-} ]]; then
    export CRM_JWT_PRIVATE_KEY_FILE=$CRM_VAR/keys/jwt.pem
    if [[ ! -s $CRM_JWT_PRIVATE_KEY_FILE ]]; then
        mkdir -p "$CRM_VAR/keys"
        (umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
            -out "$CRM_JWT_PRIVATE_KEY_FILE" 2>/dev/null)
        openssl pkey -in "$CRM_JWT_PRIVATE_KEY_FILE" -pubout -out "$CRM_VAR/keys/jwt.pub"
    fi
    export CRM_JWT_PUBLIC_KEY_FILES=${CRM_JWT_PUBLIC_KEY_FILES:-$CRM_VAR/keys/jwt.pub}
fi
crm_admin_password_file=
if [[ -z ${CRM_BOOTSTRAP_ADMIN_PASSWORD:-} ]]; then
    crm_admin_password_file=$CRM_VAR/admin-password
    if [[ ! -s $crm_admin_password_file ]]; then
        (umask 077 && openssl rand -base64 18 | tr -d '\n' >"$crm_admin_password_file")
    fi
    CRM_BOOTSTRAP_ADMIN_PASSWORD=$(<"$crm_admin_password_file")
    export CRM_BOOTSTRAP_ADMIN_PASSWORD
fi
