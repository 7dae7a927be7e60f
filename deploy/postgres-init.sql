-- One database per service (services own their data), and the gateway's (webhooks).
CREATE DATABASE kezhuan_ownership;
CREATE DATABASE kezhuan_pricing;
CREATE DATABASE kezhuan_exemption;
CREATE DATABASE kezhuan_finance;
CREATE DATABASE kezhuan_evaluation;
CREATE DATABASE kezhuan_gateway;
